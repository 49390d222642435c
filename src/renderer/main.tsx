import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { selectApi } from './api/select-api'
import { ErrorBoundary } from './components/error-boundary'
import { createStores, StoresContext } from './stores/stores-context'
import { App } from './views/app'
import './styles.css'

const root = document.getElementById('root')
if (!root) throw new Error('#root is missing from index.html')

createRoot(root).render(
  <StrictMode>
    <ErrorBoundary where="mcpproxy">
      <StoresContext.Provider value={createStores(selectApi())}>
        <App />
      </StoresContext.Provider>
    </ErrorBoundary>
  </StrictMode>,
)

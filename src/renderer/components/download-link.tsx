import { useState, type ReactNode } from 'react'
import type { Download } from '../api/api'
import { errorMessage } from '../lib/format'

/** A link for URL downloads (browser); a button that saves a blob for IPC downloads. */
export function DownloadLink({ download, children }: { download: Download; children: ReactNode }): ReactNode {
  const [error, setError] = useState<string>()
  if (download.kind === 'url') {
    return (
      <a className="button" href={download.url} download={download.filename}>
        {children}
      </a>
    )
  }
  const save = async (): Promise<void> => {
    try {
      const url = URL.createObjectURL(await download.load())
      const a = document.createElement('a')
      a.href = url
      a.download = download.filename
      a.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
      setError(undefined)
    } catch (err) {
      setError(errorMessage(err))
    }
  }
  return (
    <>
      <button type="button" onClick={() => void save()}>
        {children}
      </button>
      {error && <span role="alert">{error}</span>}
    </>
  )
}

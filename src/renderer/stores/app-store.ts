import { createStore, type StoreApi } from 'zustand/vanilla'
import { CORE_EVENT_NAMES } from '../../shared/events'
import type { Api, AppInfo, ConnectionState, CoreEvent, NavigateRequest } from '../api/api'
import { errorMessage } from '../lib/format'

export interface AppState {
  info?: AppInfo
  infoError?: string
  connection: ConnectionState
}

export interface AppActions {
  started(): Promise<void>
  stopped(): void
}

export type AppStore = StoreApi<AppState & AppActions>

/** Owns the one event subscription and fans events out to the feature stores. */
export function createAppStore(
  api: Api,
  listeners: Array<(event: CoreEvent) => void>,
  onNavigate: (request: NavigateRequest) => void = () => undefined,
): AppStore {
  let unsubscribe: (() => void) | null = null
  return createStore<AppState & AppActions>()((set) => ({
    connection: 'connecting',
    async started() {
      if (!unsubscribe) {
        const offNavigate = api.onNavigate(onNavigate)
        const offEvents = api.subscribe(
          CORE_EVENT_NAMES,
          (event) => {
            for (const l of listeners) l(event)
          },
          (connection) => set({ connection }),
        )
        unsubscribe = () => {
          offNavigate()
          offEvents()
        }
      }
      try {
        set({ info: await api.info(), infoError: undefined })
      } catch (err) {
        set({ infoError: errorMessage(err) })
      }
    },
    stopped() {
      unsubscribe?.()
      unsubscribe = null
    },
  }))
}

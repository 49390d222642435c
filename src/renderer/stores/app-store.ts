import { createStore, type StoreApi } from 'zustand/vanilla'
import { CORE_EVENT_NAMES } from '../../shared/events'
import type { Api, AppInfo, ConnectionState, CoreEvent, NavigateRequest } from '../api/api'
import { errorMessage } from '../lib/format'

export interface AppState {
  info?: AppInfo
  infoError?: string
  connection: ConnectionState
  /** the event stream was open once: connecting again means the core went away */
  wasOpen: boolean
}

/** What the connection pill says: a refused key and a core gone away are told apart from a first connect. */
export function connectionLabel(connection: ConnectionState, wasOpen: boolean, infoError?: string): string {
  if (infoError && /UNAUTHORIZED|API key/.test(infoError)) return 'wrong API key'
  if (connection === 'open') return 'live'
  if (connection === 'connecting') return wasOpen ? 'core unreachable, reconnecting…' : 'connecting…'
  return 'offline'
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
    wasOpen: false,
    async started() {
      if (!unsubscribe) {
        const offNavigate = api.onNavigate(onNavigate)
        const offEvents = api.subscribe(
          CORE_EVENT_NAMES,
          (event) => {
            for (const l of listeners) l(event)
          },
          (connection) => set((s) => ({ connection, wasOpen: s.wasOpen || connection === 'open' })),
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

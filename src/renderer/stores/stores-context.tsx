import { createContext, useContext } from 'react'
import { useStore } from 'zustand'
import type { Api, NavigateRequest } from '../api/api'
import { navigate, routeHref } from '../lib/route'
import { createActivityStore, type ActivityActions, type ActivityState, type ActivityStore } from './activity-store'
import { createAppStore, type AppActions, type AppState, type AppStore } from './app-store'
import { createApprovalsStore, type ApprovalsActions, type ApprovalsState, type ApprovalsStore } from './approvals-store'
import { createServersStore, type ServersActions, type ServersState, type ServersStore } from './servers-store'
import { createSummaryStore, type SummaryActions, type SummaryState, type SummaryStore } from './summary-store'

export interface Stores {
  api: Api
  app: AppStore
  activity: ActivityStore
  summary: SummaryStore
  servers: ServersStore
  approvals: ApprovalsStore
}

/** One store per feature; the app store's single event subscription feeds them all. */
export function createStores(api: Api): Stores {
  const activity = createActivityStore(api)
  const summary = createSummaryStore(api)
  const servers = createServersStore(api)
  const approvals = createApprovalsStore(api)
  // the tray asks for a view: a record opens in the activity view, a server in its review
  const onNavigate = (r: NavigateRequest): void => {
    if (r.view === 'servers' && r.server) navigate(routeHref('review', r.server))
    else navigate(routeHref(r.view))
    if (r.view === 'activity' && r.id) void activity.getState().rowOpened(r.id)
  }
  const app = createAppStore(
    api,
    [
      (e) => activity.getState().coreEventReceived(e),
      (e) => summary.getState().coreEventReceived(e),
      (e) => servers.getState().coreEventReceived(e),
      (e) => approvals.getState().coreEventReceived(e),
    ],
    onNavigate,
  )
  return { api, app, activity, summary, servers, approvals }
}

export const StoresContext = createContext<Stores | null>(null)

function useStores(): Stores {
  const stores = useContext(StoresContext)
  if (!stores) throw new Error('StoresContext is missing')
  return stores
}

export const useApi = (): Api => useStores().api
export const useAppStore = <T,>(sel: (s: AppState & AppActions) => T): T => useStore(useStores().app, sel)
export const useActivityStore = <T,>(sel: (s: ActivityState & ActivityActions) => T): T => useStore(useStores().activity, sel)
export const useSummaryStore = <T,>(sel: (s: SummaryState & SummaryActions) => T): T => useStore(useStores().summary, sel)
export const useServersStore = <T,>(sel: (s: ServersState & ServersActions) => T): T => useStore(useStores().servers, sel)
export const useApprovalsStore = <T,>(sel: (s: ApprovalsState & ApprovalsActions) => T): T => useStore(useStores().approvals, sel)

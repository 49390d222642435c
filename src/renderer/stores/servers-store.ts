import { createStore, type StoreApi } from 'zustand/vanilla'
import type { AddServerInput, ServerInfo, ToolChangeInfo, ToolInfo } from '../../shared/servers'
import type { Api, CoreEvent, ServerAction } from '../api/api'
import { createCoalescer } from '../lib/coalesce'
import { errorMessage } from '../lib/format'

export interface ServerReview {
  name: string
  tools: ToolInfo[]
  changes: ToolChangeInfo[]
  loading: boolean
  error?: string
}

export interface ServersState {
  servers: ServerInfo[]
  loaded: boolean
  error?: string
  /** server name → action in flight */
  busy: Record<string, string>
  logs?: { name: string; lines: string[] }
  review?: ServerReview
  /** a short confirmation of the last action */
  notice?: string
}

export interface ServersActions {
  opened(): Promise<void>
  actionRequested(name: string, action: ServerAction): Promise<void>
  logsRequested(name: string): Promise<void>
  logsClosed(): void
  reviewOpened(name: string): Promise<void>
  quarantineApproved(name: string): Promise<void>
  keptQuarantined(name: string): void
  toolChangeApproved(name: string, tool: string): Promise<void>
  toolChangeBlocked(name: string, tool: string): Promise<void>
  serverAdded(input: AddServerInput): Promise<boolean>
  coreEventReceived(event: CoreEvent): void
  dispose(): void
}

export type ServersStore = StoreApi<ServersState & ServersActions>

export function createServersStore(api: Api): ServersStore {
  return createStore<ServersState & ServersActions>()((set, get) => {
    const load = async (): Promise<void> => {
      try {
        set({ servers: await api.servers(), loaded: true, error: undefined })
      } catch (err) {
        set({ error: errorMessage(err), loaded: true })
      }
    }
    const loadReview = async (name: string): Promise<void> => {
      try {
        const [tools, changes] = await Promise.all([api.serverTools(name), api.toolChanges(name)])
        if (get().review?.name === name) set({ review: { name, tools, changes, loading: false } })
      } catch (err) {
        if (get().review?.name === name) set({ review: { name, tools: [], changes: [], loading: false, error: errorMessage(err) } })
      }
    }
    const withBusy = async (name: string, label: string, fn: () => Promise<unknown>, notice: string): Promise<boolean> => {
      set({ busy: { ...get().busy, [name]: label }, error: undefined })
      try {
        await fn()
        set({ notice })
        await load()
        return true
      } catch (err) {
        set({ error: errorMessage(err) })
        return false
      } finally {
        const busy = { ...get().busy }
        delete busy[name]
        set({ busy })
      }
    }
    const coalescer = createCoalescer(
      async () => {
        await load()
        const review = get().review
        if (review) await loadReview(review.name)
      },
      { delayMs: 100, intervalMs: 1000 },
    )
    return {
      servers: [],
      loaded: false,
      busy: {},
      opened: load,
      async actionRequested(name, action) {
        await withBusy(name, action, () => api.serverAction(name, action), `${name}: ${action} requested`)
      },
      async logsRequested(name) {
        try {
          set({ logs: { name, lines: await api.serverLogs(name) } })
        } catch (err) {
          set({ error: errorMessage(err) })
        }
      },
      logsClosed() {
        set({ logs: undefined })
      },
      async reviewOpened(name) {
        set({ review: { name, tools: [], changes: [], loading: true } })
        await loadReview(name)
      },
      async quarantineApproved(name) {
        await withBusy(
          name,
          'approve',
          async () => {
            await api.approveTools(name)
            await api.setQuarantined(name, false)
          },
          `${name} approved and out of quarantine`,
        )
        // a tool changed since its approval is not approved with the server: say it stays blocked
        const still = get().servers.find((s) => s.name === name)?.changed_tools ?? []
        if (still.length) set({ notice: `${name} approved and out of quarantine; still blocked until approved one by one: ${still.join(', ')}` })
        if (get().review?.name === name) await loadReview(name)
      },
      keptQuarantined(name) {
        set({ review: undefined, notice: `${name} stays in quarantine` })
      },
      async toolChangeApproved(name, tool) {
        await withBusy(name, 'approve-tool', () => api.approveTools(name, [tool]), `${name}:${tool} approved`)
        await loadReview(name)
      },
      async toolChangeBlocked(name, tool) {
        // the core keeps the approved definition and the tool blocked, and records the refusal
        await withBusy(name, 'block-tool', () => api.rejectToolChanges(name, [tool]), `${name}:${tool} change refused; it stays blocked at its approved definition`)
        await loadReview(name)
      },
      async serverAdded(input) {
        return withBusy(input.name, 'add', () => api.addServer(input), `${input.name} added (in quarantine until you review it)`)
      },
      coreEventReceived(event) {
        if (event.name === 'servers.changed' || event.name === 'activity.quarantine_change' || event.name === 'tools.indexed' || event.name === 'config.reloaded')
          coalescer.invalidate()
      },
      dispose() {
        coalescer.dispose()
      },
    }
  })
}

export const selectQuarantined = (s: ServersState): ServerInfo[] => s.servers.filter((x) => x.quarantined || x.changed_tools.length > 0)

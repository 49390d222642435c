import { createStore, type StoreApi } from 'zustand/vanilla'
import type { ApprovalDecision, ApprovalInfo } from '../../shared/servers'
import type { Api, CoreEvent } from '../api/api'
import { createCoalescer } from '../lib/coalesce'
import { errorMessage } from '../lib/format'

export interface ApprovalsState {
  approvals: ApprovalInfo[]
  loaded: boolean
  error?: string
  deciding: Record<string, ApprovalDecision>
}

export interface ApprovalsActions {
  opened(): Promise<void>
  decided(id: string, decision: ApprovalDecision): Promise<void>
  coreEventReceived(event: CoreEvent): void
  dispose(): void
}

export type ApprovalsStore = StoreApi<ApprovalsState & ApprovalsActions>

export function createApprovalsStore(api: Api): ApprovalsStore {
  return createStore<ApprovalsState & ApprovalsActions>()((set, get) => {
    const load = async (): Promise<void> => {
      try {
        set({ approvals: await api.approvals(), loaded: true, error: undefined })
      } catch (err) {
        set({ error: errorMessage(err), loaded: true })
      }
    }
    const coalescer = createCoalescer(load, { delayMs: 50, intervalMs: 500 })
    return {
      approvals: [],
      loaded: false,
      deciding: {},
      opened: load,
      async decided(id, decision) {
        set({ deciding: { ...get().deciding, [id]: decision } })
        try {
          await api.decideApproval(id, decision)
          set({ approvals: get().approvals.filter((a) => a.id !== id) })
        } catch (err) {
          set({ error: errorMessage(err) })
        } finally {
          const deciding = { ...get().deciding }
          delete deciding[id]
          set({ deciding })
        }
      },
      coreEventReceived(event) {
        if (event.name === 'activity.approval_requested' || event.name === 'activity.approval_resolved') coalescer.invalidate()
      },
      dispose() {
        coalescer.dispose()
      },
    }
  })
}

/** Approvals not yet expired at `now`, soonest to expire first. */
export const selectOpenApprovals = (s: ApprovalsState, now: number): ApprovalInfo[] =>
  s.approvals.filter((a) => Date.parse(a.expires_at) > now).sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at))

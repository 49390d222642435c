import type {
  ActivityFilter,
  ActivityMetricsInfo,
  ActivityPage,
  ActivityRecord,
  ActivitySummaryInfo,
  FilterOptionField,
  FilterOptionInfo,
  SummaryPeriod,
  VerifyResultInfo,
} from '../../shared/activity'
import type { CoreEventName } from '../../shared/events'
import type {
  AddServerInput,
  ApprovalDecision,
  ApprovalInfo,
  ServerInfo,
  StatusInfo,
  ToolChangeInfo,
  ToolInfo,
} from '../../shared/servers'
import { type ActivityListParams, type Api, ApiError, type AppInfo, type CoreEvent, type Download, type ExportKind, type ServerAction } from './api'

/** What the preload exposes as `window.mcpproxy` (the typed map lives in src/shared/ipc.ts). */
export interface PreloadBridge {
  invoke(channel: string, payload?: unknown): Promise<unknown>
  on(event: string, cb: (payload: unknown) => void): () => void
}

declare global {
  interface Window {
    mcpproxy?: PreloadBridge
  }
}

/** The channels this adapter invokes; the main process answers each with the REST route's data. */
export const IPC_CHANNELS = {
  info: 'app:info',
  status: 'app:status',
  listActivity: 'activity:list',
  getActivity: 'activity:get',
  countActivity: 'activity:count',
  filterOptions: 'activity:filter-options',
  summary: 'activity:summary',
  metrics: 'activity:metrics',
  verify: 'activity:verify',
  exportActivity: 'activity:export',
  servers: 'servers:list',
  serverTools: 'servers:tools',
  toolChanges: 'servers:tool-changes',
  serverLogs: 'servers:logs',
  serverAction: 'servers:action',
  setQuarantined: 'servers:set-quarantined',
  approveTools: 'servers:approve-tools',
  addServer: 'servers:add',
  approvals: 'approvals:list',
  decideApproval: 'approvals:decide',
} as const

/** Every core event is forwarded to the renderer under this one name as `{ name, data }`. */
export const IPC_EVENT = 'core:event'

/** IPC adapter for the Electron window: every call goes through the preload bridge. */
export class IpcApi implements Api {
  readonly kind = 'ipc' as const

  constructor(private readonly bridge: PreloadBridge) {}

  private async call<T>(channel: string, payload?: unknown): Promise<T> {
    try {
      return (await this.bridge.invoke(channel, payload)) as T
    } catch (err) {
      const e = err as Error & { code?: unknown; status?: unknown }
      throw new ApiError(e.message ?? String(err), typeof e.code === 'string' ? e.code : 'IPC_ERROR', typeof e.status === 'number' ? e.status : undefined)
    }
  }

  info(): Promise<AppInfo> {
    return this.call(IPC_CHANNELS.info)
  }
  status(): Promise<StatusInfo> {
    return this.call(IPC_CHANNELS.status)
  }
  listActivity(params: ActivityListParams): Promise<ActivityPage> {
    return this.call(IPC_CHANNELS.listActivity, params)
  }
  getActivity(id: string): Promise<ActivityRecord> {
    return this.call(IPC_CHANNELS.getActivity, { id })
  }
  countActivity(filter: ActivityFilter): Promise<number> {
    return this.call(IPC_CHANNELS.countActivity, { filter })
  }
  filterOptions(field: FilterOptionField, filter: ActivityFilter = {}): Promise<FilterOptionInfo[]> {
    return this.call(IPC_CHANNELS.filterOptions, { field, filter })
  }
  summary(period: SummaryPeriod): Promise<ActivitySummaryInfo> {
    return this.call(IPC_CHANNELS.summary, { period })
  }
  metrics(days: number, server?: string): Promise<ActivityMetricsInfo> {
    return this.call(IPC_CHANNELS.metrics, { days, server })
  }
  verify(): Promise<VerifyResultInfo> {
    return this.call(IPC_CHANNELS.verify)
  }
  exportDownload(filter: ActivityFilter, kind: ExportKind): Download {
    const ext = kind === 'report' ? 'html' : kind === 'json' ? 'jsonl' : 'csv'
    const type = kind === 'report' ? 'text/html' : kind === 'json' ? 'application/x-ndjson' : 'text/csv'
    return {
      kind: 'blob',
      filename: `mcpproxy-activity.${ext}`,
      load: async () => new Blob([await this.call<string>(IPC_CHANNELS.exportActivity, { filter, kind })], { type }),
    }
  }
  servers(): Promise<ServerInfo[]> {
    return this.call(IPC_CHANNELS.servers)
  }
  serverTools(name: string): Promise<ToolInfo[]> {
    return this.call(IPC_CHANNELS.serverTools, { name })
  }
  toolChanges(name: string): Promise<ToolChangeInfo[]> {
    return this.call(IPC_CHANNELS.toolChanges, { name })
  }
  serverLogs(name: string, lines = 200): Promise<string[]> {
    return this.call(IPC_CHANNELS.serverLogs, { name, lines })
  }
  async serverAction(name: string, action: ServerAction): Promise<void> {
    await this.call(IPC_CHANNELS.serverAction, { name, action })
  }
  async setQuarantined(name: string, quarantined: boolean): Promise<void> {
    await this.call(IPC_CHANNELS.setQuarantined, { name, quarantined })
  }
  approveTools(name: string, tools?: string[]): Promise<string[]> {
    return this.call(IPC_CHANNELS.approveTools, { name, tools })
  }
  addServer(input: AddServerInput): Promise<ServerInfo> {
    return this.call(IPC_CHANNELS.addServer, input)
  }
  approvals(): Promise<ApprovalInfo[]> {
    return this.call(IPC_CHANNELS.approvals)
  }
  async decideApproval(id: string, decision: ApprovalDecision): Promise<void> {
    await this.call(IPC_CHANNELS.decideApproval, { id, decision })
  }
  subscribe(
    types: readonly CoreEventName[],
    onEvent: (event: CoreEvent) => void,
    onConnection?: (state: 'connecting' | 'open' | 'closed') => void,
  ): () => void {
    const wanted = new Set<string>(types)
    const off = this.bridge.on(IPC_EVENT, (payload) => {
      const ev = payload as { name?: string; data?: unknown }
      if (typeof ev?.name === 'string' && wanted.has(ev.name)) onEvent(ev as CoreEvent)
    })
    onConnection?.('open')
    return () => {
      off()
      onConnection?.('closed')
    }
  }
}

import type {
  ActivityFilter,
  ActivityHourlyInfo,
  ActivityMetricsInfo,
  ActivityPage,
  ActivityRecord,
  ActivitySummaryInfo,
  FilterOptionField,
  FilterOptionInfo,
  SummaryPeriod,
  VerifyResultInfo,
} from '../../shared/activity'
import { exportFileName } from '../../shared/activity'
import type { CoreEventName } from '../../shared/events'
import type { IpcChannel, IpcEventMap, IpcEventName, IpcRequest, IpcResponse, PreloadApi } from '../../shared/ipc'
import type { AddServerInput, ApprovalDecision, ApprovalInfo, ServerInfo, StatusInfo, ToolChangeInfo, ToolInfo } from '../../shared/servers'
import {
  type ActivityListParams,
  type Api,
  ApiError,
  type AppInfo,
  type CoreEvent,
  type Download,
  type ExportKind,
  type NavigateRequest,
  type ServerAction,
} from './api'

declare global {
  interface Window {
    /** the preload's typed IPC bridge; absent in a browser */
    mcpproxy?: PreloadApi
  }
}

/** IPC adapter for the Electron window: every call goes through the preload (src/shared/ipc.ts). */
export class IpcApi implements Api {
  readonly kind = 'ipc' as const

  constructor(private readonly bridge: PreloadApi) {}

  private async call<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
    try {
      return await this.bridge.invoke(channel, request)
    } catch (err) {
      const e = err as Error & { code?: unknown }
      throw new ApiError(e.message ?? String(err), typeof e.code === 'string' ? e.code : 'IPC_ERROR')
    }
  }

  private on<E extends IpcEventName>(event: E, cb: (payload: IpcEventMap[E]) => void): () => void {
    return this.bridge.on(event, cb)
  }

  async info(): Promise<AppInfo> {
    const info = await this.call('app.info', undefined)
    return { version: info.version, mcp_url: info.mcp_url, web_ui_url: info.web_ui_url }
  }
  status(): Promise<StatusInfo> {
    return this.call('status.get', undefined)
  }
  listActivity(p: ActivityListParams): Promise<ActivityPage> {
    return this.call('activity.list', { ...p.filter, limit: p.limit, offset: p.offset, ...(p.cursor ? { cursor: p.cursor } : {}) })
  }
  getActivity(id: string): Promise<ActivityRecord> {
    return this.call('activity.get', { id })
  }
  async countActivity(filter: ActivityFilter): Promise<number> {
    return (await this.call('activity.count', filter)).total
  }
  filterOptions(field: FilterOptionField, filter: ActivityFilter = {}): Promise<FilterOptionInfo[]> {
    return this.call('activity.filterOptions', { field, filter })
  }
  summary(period: SummaryPeriod): Promise<ActivitySummaryInfo> {
    return this.call('activity.summary', { period })
  }
  metrics(days: number, server?: string): Promise<ActivityMetricsInfo> {
    return this.call('activity.metrics', { days, server })
  }
  hourly(hours: number): Promise<ActivityHourlyInfo> {
    return this.call('activity.hourly', { hours })
  }
  verify(): Promise<VerifyResultInfo> {
    return this.call('activity.verify', undefined)
  }
  exportDownload(filter: ActivityFilter, kind: ExportKind): Download {
    const format = kind === 'report' ? 'html' : kind
    return {
      kind: 'save',
      filename: exportFileName(format),
      save: async () => (await this.call('activity.exportToFile', { filter, format })).path,
    }
  }
  servers(): Promise<ServerInfo[]> {
    return this.call('servers.list', undefined)
  }
  serverTools(name: string): Promise<ToolInfo[]> {
    return this.call('servers.tools', { name })
  }
  toolChanges(name: string): Promise<ToolChangeInfo[]> {
    return this.call('servers.toolChanges', { name })
  }
  async serverLogs(name: string, lines = 200): Promise<string[]> {
    return (await this.call('servers.logs', { name, lines })).lines
  }
  async serverAction(name: string, action: ServerAction): Promise<void> {
    const channel = action === 'enable' ? 'servers.enable' : action === 'disable' ? 'servers.disable' : 'servers.restart'
    await this.call(channel, { name })
  }
  async setQuarantined(name: string, quarantined: boolean): Promise<void> {
    await this.call('servers.quarantine', { name, quarantined })
  }
  async approveTools(name: string, tools?: string[]): Promise<string[]> {
    return (await this.call('servers.approveTools', { name, tools })).approved
  }

  async rejectToolChanges(name: string, tools: string[]): Promise<string[]> {
    return (await this.call('servers.rejectToolChanges', { name, tools })).rejected
  }
  addServer(input: AddServerInput): Promise<ServerInfo> {
    return this.call('servers.add', input)
  }
  approvals(): Promise<ApprovalInfo[]> {
    return this.call('approvals.list', undefined)
  }
  async decideApproval(id: string, decision: ApprovalDecision): Promise<void> {
    await this.call('approvals.decide', { id, decision })
  }
  onNavigate(cb: (request: NavigateRequest) => void): () => void {
    return this.on('app.navigate', cb)
  }
  subscribe(
    types: readonly CoreEventName[],
    onEvent: (event: CoreEvent) => void,
    onConnection?: (state: 'connecting' | 'open' | 'closed') => void,
  ): () => void {
    const wanted = new Set<string>(types)
    // the main process batches events (at most one IPC message per interval)
    const off = this.on('core.events', (batch) => {
      if (!Array.isArray(batch)) return
      for (const ev of batch) if (ev && wanted.has(ev.name)) onEvent({ name: ev.name, data: ev.payload } as CoreEvent)
    })
    onConnection?.('open')
    return () => {
      off()
      onConnection?.('closed')
    }
  }
}

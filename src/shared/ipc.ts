/**
 * The Electron IPC contract: one invoke map (renderer → main, request/response) and one event
 * map (main → renderer, pushed in batches). The preload exposes exactly these through
 * `window.mcpproxy`; the main process registers one handler per invoke channel. Every
 * response crosses the boundary as an envelope: `{ result }` or `{ error: { message, code } }`.
 */
import type {
  ActivityFilter,
  ActivityListQuery,
  ActivityHourlyInfo,
  ActivityMetricsInfo,
  ActivityPage,
  ActivityRecord,
  ActivitySummaryInfo,
  ExportFormat,
  FilterOptionField,
  FilterOptionInfo,
  SummaryPeriod,
  VerifyResultInfo,
} from './activity'
import type { CoreEventMap, CoreEventName } from './events'
import type {
  AddServerInput,
  ApprovalDecision,
  ApprovalInfo,
  ServerInfo,
  SessionInfo,
  StatusInfo,
  ToolChangeInfo,
  ToolInfo,
} from './servers'

export interface AppInfo {
  version: string
  mcp_url: string
  web_ui_url: string
  data_dir: string
  platform: string
}

/** Invoke channels: `[request, response]`. */
export interface IpcInvokeMap {
  'app.info': [void, AppInfo]
  'status.get': [void, StatusInfo]
  'activity.list': [Partial<ActivityListQuery>, ActivityPage]
  'activity.get': [{ id: string }, ActivityRecord]
  'activity.count': [ActivityFilter, { total: number }]
  'activity.filterOptions': [{ field: FilterOptionField; filter?: ActivityFilter }, FilterOptionInfo[]]
  'activity.summary': [{ period: SummaryPeriod }, ActivitySummaryInfo]
  'activity.metrics': [{ days: number; server?: string }, ActivityMetricsInfo]
  'activity.hourly': [{ hours: number }, ActivityHourlyInfo]
  'activity.verify': [void, VerifyResultInfo]
  'activity.delete': [{ id: string }, { deleted: boolean }]
  /** opens a save dialog and writes the export; resolves with the path or null when cancelled */
  'activity.exportToFile': [{ filter: ActivityFilter; format: ExportFormat | 'html'; includeBodies?: boolean }, { path: string | null; rows?: number }]
  'servers.list': [void, ServerInfo[]]
  'servers.add': [AddServerInput, ServerInfo]
  'servers.remove': [{ name: string }, void]
  'servers.enable': [{ name: string }, void]
  'servers.disable': [{ name: string }, void]
  'servers.restart': [{ name: string }, void]
  'servers.quarantine': [{ name: string; quarantined: boolean }, void]
  'servers.approveTools': [{ name: string; tools?: string[] }, { approved: string[] }]
  'servers.rejectToolChanges': [{ name: string; tools: string[] }, { rejected: string[] }]
  'servers.tools': [{ name: string }, ToolInfo[]]
  'servers.logs': [{ name: string; lines?: number }, { lines: string[] }]
  'servers.toolChanges': [{ name?: string }, ToolChangeInfo[]]
  'tools.search': [{ q: string; limit?: number }, ToolInfo[]]
  'sessions.list': [void, SessionInfo[]]
  'approvals.list': [void, ApprovalInfo[]]
  'approvals.decide': [{ id: string; decision: ApprovalDecision }, ApprovalInfo]
  'app.openExternal': [{ url: string }, void]
  'app.copyText': [{ text: string }, void]
}
export type IpcChannel = keyof IpcInvokeMap
export type IpcRequest<C extends IpcChannel> = IpcInvokeMap[C][0]
export type IpcResponse<C extends IpcChannel> = IpcInvokeMap[C][1]

export const IPC_CHANNELS = [
  'app.info',
  'status.get',
  'activity.list',
  'activity.get',
  'activity.count',
  'activity.filterOptions',
  'activity.summary',
  'activity.metrics',
  'activity.hourly',
  'activity.verify',
  'activity.delete',
  'activity.exportToFile',
  'servers.list',
  'servers.add',
  'servers.remove',
  'servers.enable',
  'servers.disable',
  'servers.restart',
  'servers.quarantine',
  'servers.approveTools',
  'servers.rejectToolChanges',
  'servers.tools',
  'servers.logs',
  'servers.toolChanges',
  'tools.search',
  'sessions.list',
  'approvals.list',
  'approvals.decide',
  'app.openExternal',
  'app.copyText',
] as const satisfies readonly IpcChannel[]

export interface IpcErrorInfo {
  message: string
  code: string
}
export type IpcEnvelope<T> = { result: T } | { error: IpcErrorInfo }

/** Main → renderer: core events, pushed in batches on one channel; plus navigation requests. */
export interface IpcEventMap {
  'core.events': Array<{ name: CoreEventName; payload: CoreEventMap[CoreEventName] }>
  /** the tray asks the window to show something (an activity record, the quarantine review) */
  'app.navigate': { view: 'activity' | 'servers' | 'approvals' | 'dashboard'; id?: string; server?: string }
}
export type IpcEventName = keyof IpcEventMap
export const IPC_EVENT_NAMES = ['core.events', 'app.navigate'] as const satisfies readonly IpcEventName[]

/** What the preload exposes on `window.mcpproxy`. */
export interface PreloadApi {
  invoke<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>>
  on<E extends IpcEventName>(event: E, listener: (payload: IpcEventMap[E]) => void): () => void
}

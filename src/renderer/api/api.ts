/**
 * The one interface the renderer talks to. Two adapters implement it: HTTP + SSE (browser,
 * `http-api.ts`) and IPC through the preload (Electron, `ipc-api.ts`).
 */
import type {
  ActivityFilter,
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
} from '../../shared/activity'
import type { CoreEventMap, CoreEventName } from '../../shared/events'
import type {
  AddServerInput,
  ApprovalDecision,
  ApprovalInfo,
  ServerInfo,
  StatusInfo,
  ToolChangeInfo,
  ToolInfo,
} from '../../shared/servers'

/** `GET /api/v1/info`, reduced to what the UI shows. */
export interface AppInfo {
  version: string
  /** the MCP endpoint clients connect to */
  mcp_url: string
  web_ui_url?: string
  listen_addr?: string
}

export interface ActivityListParams {
  filter: ActivityFilter
  limit: number
  offset: number
  cursor?: string
}

export type ServerAction = 'enable' | 'disable' | 'restart'

/** A download the UI offers: an URL the browser fetches, or a file the desktop app saves. */
export type Download =
  /** `url` resolves with a one-use link (a download token in it, never the API key) */
  | { kind: 'url'; url: () => Promise<string>; filename: string }
  /** resolves with the saved path, or null when the user cancelled the dialog */
  | { kind: 'save'; save: () => Promise<string | null>; filename: string }

/** The desktop shell asks the window to show something (tray menu, notification click). */
export interface NavigateRequest {
  view: 'activity' | 'servers' | 'approvals' | 'dashboard'
  id?: string
  server?: string
}

export type ExportKind = ExportFormat | 'report'

/** Any event from the core, as the subscriber receives it. */
export type CoreEvent = { [K in CoreEventName]: { name: K; data: CoreEventMap[K] } }[CoreEventName]

export type ConnectionState = 'connecting' | 'open' | 'closed'

/** An error from the core: `{ error, code }` from REST or the IPC error envelope. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface Api {
  readonly kind: 'http' | 'ipc'
  info(): Promise<AppInfo>
  status(): Promise<StatusInfo>

  listActivity(params: ActivityListParams): Promise<ActivityPage>
  getActivity(id: string): Promise<ActivityRecord>
  countActivity(filter: ActivityFilter): Promise<number>
  filterOptions(field: FilterOptionField, filter?: ActivityFilter): Promise<FilterOptionInfo[]>
  summary(period: SummaryPeriod): Promise<ActivitySummaryInfo>
  metrics(days: number, server?: string): Promise<ActivityMetricsInfo>
  /** tool calls per clock hour, oldest first, ending with the current hour */
  hourly(hours: number): Promise<ActivityHourlyInfo>
  verify(): Promise<VerifyResultInfo>
  /** JSON Lines, CSV or the HTML report of exactly these filters */
  exportDownload(filter: ActivityFilter, kind: ExportKind): Download

  servers(): Promise<ServerInfo[]>
  serverTools(name: string): Promise<ToolInfo[]>
  toolChanges(name: string): Promise<ToolChangeInfo[]>
  serverLogs(name: string, lines?: number): Promise<string[]>
  serverAction(name: string, action: ServerAction): Promise<void>
  setQuarantined(name: string, quarantined: boolean): Promise<void>
  /** pins the current definitions: the named tools, or all that have no pin yet (a changed tool only by name) */
  approveTools(name: string, tools?: string[]): Promise<string[]>
  /** refuses the changed definitions of the named tools: the approved ones stay, the tools stay blocked */
  rejectToolChanges(name: string, tools: string[]): Promise<string[]>
  addServer(input: AddServerInput): Promise<ServerInfo>

  approvals(): Promise<ApprovalInfo[]>
  decideApproval(id: string, decision: ApprovalDecision): Promise<void>

  /** Navigation requests from the desktop shell; a no-op in the browser. */
  onNavigate(cb: (request: NavigateRequest) => void): () => void

  /** Live events; returns an unsubscribe function. */
  subscribe(
    types: readonly CoreEventName[],
    onEvent: (event: CoreEvent) => void,
    onConnection?: (state: ConnectionState) => void,
  ): () => void
}

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
import type {
  AddServerInput,
  ApprovalDecision,
  ApprovalInfo,
  ServerInfo,
  StatusInfo,
  ToolChangeInfo,
  ToolInfo,
} from '../../shared/servers'
import { type Api, ApiError, type AppInfo, type CoreEvent, type ExportKind, type Download } from './api'
import { downloadParams, eventsParams, filterToParams, listParams } from './query-string'

type Json = Record<string, unknown>

/** REST answers `{success, data}`; a few seed routes answer the object itself. */
function unwrap(body: unknown): unknown {
  if (body && typeof body === 'object' && 'success' in body && 'data' in body) return (body as Json).data
  return body
}

/** A list either is the data or sits under one key of it (`{servers: [...]}`). */
function listOf<T>(data: unknown, key: string): T[] {
  if (Array.isArray(data)) return data as T[]
  const inner = data && typeof data === 'object' ? (data as Json)[key] : undefined
  return Array.isArray(inner) ? (inner as T[]) : []
}

/** HTTP + SSE adapter for the browser: `/api/v1` with X-API-Key, `/events?apikey=`. */
export class HttpApi implements Api {
  readonly kind = 'http' as const

  constructor(
    private readonly base: string,
    private readonly apiKey: string | null,
  ) {}

  private url(path: string, params?: URLSearchParams): string {
    const qs = params && [...params.keys()].length > 0 ? `?${params.toString()}` : ''
    return `${this.base}${path}${qs}`
  }

  private async request(method: string, path: string, params?: URLSearchParams, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {}
    if (this.apiKey) headers['X-API-Key'] = this.apiKey
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(this.url(path, params), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    } catch (err) {
      throw new ApiError(`Cannot reach mcpproxy at ${this.base || window.location.origin}: ${(err as Error).message}`, 'UNREACHABLE')
    }
    const text = await res.text()
    let parsed: unknown = undefined
    if (text) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = text
      }
    }
    if (!res.ok) {
      const obj = parsed && typeof parsed === 'object' ? (parsed as Json) : {}
      const message = typeof obj.error === 'string' ? obj.error : `${res.status} ${res.statusText}`
      const code = typeof obj.code === 'string' ? obj.code : res.status === 401 ? 'UNAUTHORIZED' : `HTTP_${res.status}`
      throw new ApiError(
        res.status === 401 ? `${message}. Open the UI from the tray or with ?apikey=<key> from mcp_config.json.` : message,
        code,
        res.status,
      )
    }
    return unwrap(parsed)
  }

  private get(path: string, params?: URLSearchParams): Promise<unknown> {
    return this.request('GET', path, params)
  }

  async info(): Promise<AppInfo> {
    const data = (await this.get('/api/v1/info')) as Json
    const listen = typeof data.listen_addr === 'string' ? data.listen_addr : window.location.host
    const mcp = typeof data.mcp_url === 'string' ? data.mcp_url : `http://${listen}/mcp`
    return {
      version: String(data.version ?? ''),
      mcp_url: mcp,
      web_ui_url: typeof data.web_ui_url === 'string' ? data.web_ui_url : undefined,
      listen_addr: listen,
    }
  }

  async status(): Promise<StatusInfo> {
    return (await this.get('/api/v1/status')) as StatusInfo
  }

  async listActivity(p: { filter: ActivityFilter; limit: number; offset: number; cursor?: string }): Promise<ActivityPage> {
    return (await this.get('/api/v1/activity', listParams(p))) as ActivityPage
  }

  async getActivity(id: string): Promise<ActivityRecord> {
    const data = (await this.get(`/api/v1/activity/${encodeURIComponent(id)}`)) as Json
    return (data && typeof data === 'object' && 'activity' in data ? data.activity : data) as ActivityRecord
  }

  async countActivity(filter: ActivityFilter): Promise<number> {
    const data = await this.get('/api/v1/activity/count', filterToParams(filter))
    if (typeof data === 'number') return data
    const obj = data as Json
    return Number(obj.count ?? obj.total ?? 0)
  }

  async filterOptions(field: FilterOptionField, filter: ActivityFilter = {}): Promise<FilterOptionInfo[]> {
    const data = await this.get(`/api/v1/activity/filter-options/${field}`, filterToParams(filter))
    const list = listOf<FilterOptionInfo | string>(data, 'options').length > 0 ? listOf<FilterOptionInfo | string>(data, 'options') : listOf<FilterOptionInfo | string>(data, 'values')
    return list.map((o) => (typeof o === 'string' ? { value: o, count: 0 } : o))
  }

  async summary(period: SummaryPeriod): Promise<ActivitySummaryInfo> {
    return (await this.get('/api/v1/activity/summary', new URLSearchParams({ period }))) as ActivitySummaryInfo
  }

  async metrics(days: number, server?: string): Promise<ActivityMetricsInfo> {
    const params = new URLSearchParams({ days: String(days) })
    if (server) params.set('server', server)
    return (await this.get('/api/v1/activity/metrics', params)) as ActivityMetricsInfo
  }

  async hourly(hours: number): Promise<ActivityHourlyInfo> {
    return (await this.get('/api/v1/activity/hourly', new URLSearchParams({ hours: String(hours) }))) as ActivityHourlyInfo
  }

  async verify(): Promise<VerifyResultInfo> {
    return (await this.get('/api/v1/activity/verify')) as VerifyResultInfo
  }

  exportDownload(filter: ActivityFilter, kind: ExportKind): Download {
    const path = kind === 'report' ? '/api/v1/activity/report' : '/api/v1/activity/export'
    const url = async (): Promise<string> => {
      const { token } = (await this.request('POST', '/api/v1/activity/download-token')) as { token: string }
      return this.url(path, downloadParams(filter, kind, token))
    }
    return { kind: 'url', url, filename: exportFileName(kind === 'report' ? 'html' : kind) }
  }

  async servers(): Promise<ServerInfo[]> {
    return listOf<ServerInfo>(await this.get('/api/v1/servers'), 'servers')
  }

  async serverTools(name: string): Promise<ToolInfo[]> {
    return listOf<ToolInfo>(await this.get(`/api/v1/servers/${encodeURIComponent(name)}/tools`), 'tools')
  }

  async toolChanges(name: string): Promise<ToolChangeInfo[]> {
    const data = await this.get(`/api/v1/servers/${encodeURIComponent(name)}/tools`)
    const changes = listOf<ToolChangeInfo>(data, 'changes')
    return changes.length > 0 ? changes : listOf<ToolChangeInfo>(data, 'pending_changes')
  }

  async serverLogs(name: string, lines = 200): Promise<string[]> {
    const data = await this.get(`/api/v1/servers/${encodeURIComponent(name)}/logs`, new URLSearchParams({ lines: String(lines) }))
    return listOf<string>(data, 'logs').length > 0 ? listOf<string>(data, 'logs') : listOf<string>(data, 'lines')
  }

  async serverAction(name: string, action: 'enable' | 'disable' | 'restart'): Promise<void> {
    await this.request('POST', `/api/v1/servers/${encodeURIComponent(name)}/${action}`)
  }

  async setQuarantined(name: string, quarantined: boolean): Promise<void> {
    await this.request('POST', `/api/v1/servers/${encodeURIComponent(name)}/quarantine`, undefined, { quarantined })
  }

  async approveTools(name: string, tools?: string[]): Promise<string[]> {
    const data = await this.request('POST', `/api/v1/servers/${encodeURIComponent(name)}/tools/approve`, undefined, tools ? { tools } : {})
    return listOf<string>(data, 'approved')
  }

  async rejectToolChanges(name: string, tools: string[]): Promise<string[]> {
    const data = await this.request('POST', `/api/v1/servers/${encodeURIComponent(name)}/tools/reject`, undefined, { tools })
    return listOf<string>(data, 'rejected')
  }

  async addServer(input: AddServerInput): Promise<ServerInfo> {
    const data = (await this.request('POST', '/api/v1/servers', undefined, input)) as Json
    return (data && 'server' in data ? data.server : data) as ServerInfo
  }

  async approvals(): Promise<ApprovalInfo[]> {
    return listOf<ApprovalInfo>(await this.get('/api/v1/approvals'), 'approvals')
  }

  async decideApproval(id: string, decision: ApprovalDecision): Promise<void> {
    await this.request('POST', `/api/v1/approvals/${encodeURIComponent(id)}`, undefined, { decision })
  }

  onNavigate(): () => void {
    return () => undefined
  }

  subscribe(
    types: readonly CoreEventName[],
    onEvent: (event: CoreEvent) => void,
    onConnection?: (state: 'connecting' | 'open' | 'closed') => void,
  ): () => void {
    const params = eventsParams(types, this.apiKey)
    onConnection?.('connecting')
    // EventSource reconnects by itself and sends Last-Event-ID, so the core replays what we missed
    const source = new EventSource(this.url('/events', params))
    const listener = (ev: MessageEvent<string>): void => {
      let data: unknown
      try {
        data = JSON.parse(ev.data)
      } catch {
        return
      }
      onEvent({ name: ev.type as CoreEventName, data } as CoreEvent)
    }
    for (const name of types) source.addEventListener(name, listener as EventListener)
    // the core skipped events for us (we were too slow or away too long): everything is stale
    const onReset = (): void => {
      const timestamp = new Date().toISOString()
      onEvent({ name: 'activity.appended', data: { ids: [], types: [], last_seq: -1 } })
      onEvent({ name: 'servers.changed', data: { reason: 'events reset', timestamp } })
    }
    source.addEventListener('reset', onReset)
    source.onopen = () => onConnection?.('open')
    source.onerror = () => onConnection?.(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting')
    return () => {
      for (const name of types) source.removeEventListener(name, listener as EventListener)
      source.removeEventListener('reset', onReset)
      source.close()
      onConnection?.('closed')
    }
  }
}

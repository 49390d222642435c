/**
 * The main-process side of the IPC contract (src/shared/ipc.ts): one handler per invoke
 * channel, each wrapped in the error envelope, each refusing senders that are not our window.
 */
import type { IpcMainInvokeEvent } from 'electron'
import { z } from 'zod'
import { ActivityFilterSchema, ActivityListQuerySchema, FILTER_OPTION_FIELDS, MAX_HOURLY_HOURS, SUMMARY_PERIODS } from '../shared/activity'
import type { AppInfo, IpcChannel, IpcEnvelope, IpcInvokeMap, IpcRequest, IpcResponse } from '../shared/ipc'
import { AddServerSchema, ApprovalDecisionSchema } from '../shared/servers'
import type { Core } from '../core/core-types'
import { CoreError, isCoreError } from '../core/errors'
import { describeIssues } from '../core/config/load'
import { toToolInfo } from '../core/proxy/tool-search'

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, request: unknown) => Promise<unknown>): void
  removeHandler(channel: string): void
}

export interface IpcShellDeps {
  appInfo(): AppInfo
  /** true when the event comes from one of our windows showing our renderer */
  isTrustedSender(event: IpcMainInvokeEvent): boolean
  exportToFile(request: IpcRequest<'activity.exportToFile'>): Promise<IpcResponse<'activity.exportToFile'>>
  openExternal(url: string): Promise<void>
  copyText(text: string): void
}

type Handlers = { [C in IpcChannel]: (request: IpcRequest<C>) => Promise<IpcResponse<C>> | IpcResponse<C> }

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value ?? {})
  if (!r.success) throw new CoreError('INVALID_PARAMETER', describeIssues(r.error))
  return r.data
}

const NameSchema = z.object({ name: z.string().min(1) })
const IdSchema = z.object({ id: z.string().min(1) })

export function createIpcHandlers(core: Core, deps: IpcShellDeps): Handlers {
  const server = (name: string) => {
    if (!core.upstreams.get(name)) throw new CoreError('NOT_FOUND', `no server named ${name}`)
    return name
  }
  return {
    'app.info': () => deps.appInfo(),
    'status.get': () => core.status(),
    'activity.list': (req) => {
      const q = parse(ActivityListQuerySchema, req)
      const { limit, offset, cursor, ...filter } = q
      return core.activity.list(filter, { limit, offset, cursor })
    },
    'activity.get': (req) => {
      const { id } = parse(IdSchema, req)
      const rec = core.activity.get(id)
      if (!rec) throw new CoreError('NOT_FOUND', `no activity record ${id}`)
      return rec
    },
    'activity.count': (req) => ({ total: core.activity.count(parse(ActivityFilterSchema, req)) }),
    'activity.filterOptions': (req) => {
      const r = parse(z.object({ field: z.enum(FILTER_OPTION_FIELDS), filter: ActivityFilterSchema.optional() }), req)
      return core.activity.filterOptions(r.field, r.filter)
    },
    'activity.summary': (req) => core.activity.summary(parse(z.object({ period: z.enum(SUMMARY_PERIODS) }), req).period),
    'activity.metrics': (req) => {
      const r = parse(z.object({ days: z.number().int().min(1).max(365), server: z.string().optional() }), req)
      return core.activity.metrics(r.days, r.server)
    },
    'activity.hourly': (req) => core.activity.hourly(parse(z.object({ hours: z.number().int().min(1).max(MAX_HOURLY_HOURS) }), req).hours),
    'activity.verify': () => core.activity.verify(),
    'activity.delete': (req) => ({ deleted: core.activity.delete(parse(IdSchema, req).id, 'desktop') }),
    'activity.exportToFile': (req) => {
      const r = parse(
        z.object({ filter: ActivityFilterSchema.default({}), format: z.enum(['json', 'csv', 'html']), includeBodies: z.boolean().optional() }),
        req,
      )
      return deps.exportToFile(r)
    },
    'servers.list': () => core.upstreams.list(),
    'servers.add': (req) => core.upstreams.add(parse(AddServerSchema, req), 'desktop'),
    'servers.remove': (req) => core.upstreams.remove(server(parse(NameSchema, req).name), 'desktop'),
    'servers.enable': (req) => core.upstreams.enable(server(parse(NameSchema, req).name), 'desktop'),
    'servers.disable': (req) => core.upstreams.disable(server(parse(NameSchema, req).name), 'desktop'),
    'servers.restart': (req) => core.upstreams.restart(server(parse(NameSchema, req).name), 'desktop'),
    'servers.quarantine': (req) => {
      const r = parse(NameSchema.extend({ quarantined: z.boolean() }), req)
      return core.upstreams.setQuarantined(server(r.name), r.quarantined, 'desktop')
    },
    'servers.approveTools': async (req) => {
      const r = parse(NameSchema.extend({ tools: z.array(z.string()).optional() }), req)
      return { approved: await core.upstreams.approveTools(server(r.name), r.tools, 'desktop') }
    },
    'servers.rejectToolChanges': async (req) => {
      const r = parse(NameSchema.extend({ tools: z.array(z.string()).min(1) }), req)
      return { rejected: await core.upstreams.rejectToolChanges(server(r.name), r.tools, 'desktop') }
    },
    // for review: the tools as they are now
    'servers.tools': (req) => core.upstreams.tools(server(parse(NameSchema, req).name)).map((t) => toToolInfo(t, undefined, true)),
    'servers.logs': (req) => {
      const r = parse(NameSchema.extend({ lines: z.number().int().min(1).max(5000).optional() }), req)
      return { lines: core.upstreams.logs(server(r.name), r.lines) }
    },
    'servers.toolChanges': (req) => core.upstreams.pendingToolChanges(parse(z.object({ name: z.string().optional() }), req).name),
    'tools.search': (req) => {
      const r = parse(z.object({ q: z.string(), limit: z.number().int().min(1).max(100).optional() }), req)
      return core.tools.search(r.q, r.limit ?? 15)
    },
    'sessions.list': () => core.sessions.list(),
    'approvals.list': () => core.approvals.list(),
    'approvals.decide': (req) => {
      const r = parse(IdSchema.extend({ decision: ApprovalDecisionSchema.shape.decision }), req)
      return core.approvals.decide(r.id, r.decision, 'desktop')
    },
    'app.openExternal': (req) => deps.openExternal(parse(z.object({ url: z.url() }), req).url),
    'app.copyText': (req) => deps.copyText(parse(z.object({ text: z.string().max(100_000) }), req).text),
  }
}

/** Turns any thrown value into the envelope's error; never leaks a stack to the renderer. */
export function toIpcError(err: unknown): { message: string; code: string } {
  if (isCoreError(err)) return { message: err.message, code: err.code }
  return { message: err instanceof Error ? err.message : String(err), code: 'INTERNAL' }
}

/** Registers every channel on ipcMain, with the sender check and the envelope. */
export function registerIpcHandlers(ipc: IpcMainLike, handlers: Handlers, deps: Pick<IpcShellDeps, 'isTrustedSender'>): () => void {
  const channels = Object.keys(handlers) as IpcChannel[]
  for (const channel of channels) {
    ipc.handle(channel, async (event, request): Promise<IpcEnvelope<unknown>> => {
      if (!deps.isTrustedSender(event)) return { error: { message: 'IPC from an untrusted sender was refused', code: 'FORBIDDEN' } }
      try {
        const handler = handlers[channel] as (r: unknown) => Promise<unknown> | unknown
        return { result: await handler(request) }
      } catch (err) {
        return { error: toIpcError(err) }
      }
    })
  }
  return () => channels.forEach((c) => ipc.removeHandler(c))
}

export type { IpcInvokeMap }

import { z } from 'zod'
import { AddServerSchema, type ServerInfo } from '../../../shared/servers'
import { toToolInfo } from '../../proxy/tool-search'
import { CoreError } from '../../errors'
import { actorOf, ok, ServerNameParams, type HttpContext, type ZodApp } from '../context'

const QuarantineBody = z.object({ quarantined: z.boolean() })
const ApproveBody = z.object({ tools: z.array(z.string().min(1)).min(1).max(1000).optional() })
const RejectBody = z.object({ tools: z.array(z.string().min(1)).min(1).max(1000) })
const LogsQuery = z.object({ lines: z.coerce.number().int().min(1).max(10_000).default(200) })

interface BulkResult {
  name: string
  ok: boolean
  error?: string
}

export function registerServerRoutes(app: ZodApp, ctx: HttpContext): void {
  const up = ctx.core.upstreams
  const requireServer = (name: string): ServerInfo => {
    const s = up.get(name)
    if (!s) throw new CoreError('NOT_FOUND', `server "${name}" not found`)
    return s
  }
  const tags = ['servers']

  app.get('/servers', { schema: { tags, summary: 'List upstream servers with their health' } }, async () => ok({ servers: up.list() }))

  app.post('/servers', { schema: { tags, summary: 'Add a server (quarantined unless quarantined=false)', body: AddServerSchema } }, async (req, reply) => {
    const body = req.body
    if (!body.command && !body.url) throw new CoreError('INVALID_PARAMETER', 'body: needs command (stdio) or url (http/sse)')
    if (body.command && body.url) throw new CoreError('INVALID_PARAMETER', 'body: give command or url, not both')
    if (up.get(body.name)) throw new CoreError('CONFLICT', `server "${body.name}" already exists`)
    const server = await up.add(body, actorOf(req))
    return reply.code(201).send(ok({ server }))
  })

  // bulk routes before /servers/:name/... so a server named "enable_all" cannot shadow them
  const bulk = (path: string, summary: string, pick: (s: ServerInfo) => boolean, act: (name: string, actor: string) => Promise<unknown>): void => {
    app.post(`/servers/${path}`, { schema: { tags, summary } }, async (req) => {
      const results: BulkResult[] = []
      for (const s of up.list().filter(pick)) {
        try {
          await act(s.name, actorOf(req))
          results.push({ name: s.name, ok: true })
        } catch (err) {
          results.push({ name: s.name, ok: false, error: (err as Error).message })
        }
      }
      return ok({ results })
    })
  }
  bulk('enable_all', 'Enable every disabled server', (s) => !s.enabled, (n, actor) => up.enable(n, actor))
  bulk('disable_all', 'Disable every enabled server', (s) => s.enabled, (n, actor) => up.disable(n, actor))
  bulk('restart_all', 'Restart every enabled server', (s) => s.enabled, (n, actor) => up.restart(n, actor))
  bulk('reconnect', 'Reconnect every enabled server that is not connected', (s) => s.enabled && !s.connected, (n, actor) => up.restart(n, actor))

  app.delete('/servers/:name', { schema: { tags, summary: 'Remove a server', params: ServerNameParams } }, async (req) => {
    requireServer(req.params.name)
    await up.remove(req.params.name, actorOf(req))
    return ok({ removed: req.params.name })
  })

  const action = (verb: 'enable' | 'disable' | 'restart', summary: string): void => {
    app.post(`/servers/:name/${verb}`, { schema: { tags, summary, params: ServerNameParams } }, async (req) => {
      requireServer(req.params.name)
      await up[verb](req.params.name, actorOf(req))
      return ok({ server: requireServer(req.params.name) })
    })
  }
  action('enable', 'Enable a server')
  action('disable', 'Disable a server')
  action('restart', 'Restart a server')

  app.post('/servers/:name/quarantine', { schema: { tags, summary: 'Set quarantine status', params: ServerNameParams, body: QuarantineBody } }, async (req) => {
    requireServer(req.params.name)
    await up.setQuarantined(req.params.name, req.body.quarantined, actorOf(req))
    return ok({ server: requireServer(req.params.name) })
  })

  app.post(
    '/servers/:name/tools/approve',
    {
      schema: {
        tags,
        summary: 'Approve (pin) the current tool definitions: the named tools, or all that have no pin yet',
        description: 'A tool whose definition changed since its approval is approved only by name; still_changed lists those left blocked.',
        params: ServerNameParams,
        body: ApproveBody.nullish(),
      },
    },
    async (req) => {
      requireServer(req.params.name)
      const approved = await up.approveTools(req.params.name, req.body?.tools, actorOf(req))
      return ok({ approved, still_changed: requireServer(req.params.name).changed_tools })
    },
  )

  app.post(
    '/servers/:name/tools/reject',
    {
      schema: {
        tags,
        summary: 'Refuse the changed definitions of the named tools: their approved definitions stay and they stay blocked',
        params: ServerNameParams,
        body: RejectBody,
      },
    },
    async (req) => {
      requireServer(req.params.name)
      const rejected = await up.rejectToolChanges(req.params.name, req.body.tools, actorOf(req))
      return ok({ rejected })
    },
  )

  app.get('/servers/:name/tools', { schema: { tags, summary: "A server's tools, with pending definition changes", params: ServerNameParams } }, async (req) => {
    requireServer(req.params.name)
    // for review: the tools as they are now, with what changed since approval
    return ok({
      tools: up.tools(req.params.name).map((t) => toToolInfo(t, undefined, true)),
      changes: up.pendingToolChanges(req.params.name),
      findings: requireServer(req.params.name).findings,
    })
  })

  app.get('/servers/:name/logs', { schema: { tags, summary: "The last lines of a server's log", params: ServerNameParams, querystring: LogsQuery } }, async (req) => {
    requireServer(req.params.name)
    return ok({ lines: up.logs(req.params.name, req.query.lines) })
  })
}

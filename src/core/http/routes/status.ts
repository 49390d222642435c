import { existsSync } from 'node:fs'
import { ok, type HttpContext, type ZodApp } from '../context'

export interface DoctorCheck {
  name: string
  ok: boolean
  detail: string
  action?: string
}

/** The checks `GET /doctor` and `mcpproxy doctor` report. */
export function runDoctor(ctx: HttpContext): { ok: boolean; checks: DoctorCheck[] } {
  const { core } = ctx
  const checks: DoctorCheck[] = []
  const cfg = core.config.validate(core.config.current())
  checks.push({ name: 'config', ok: cfg.valid, detail: cfg.valid ? core.paths.config : cfg.errors.map((e) => `${e.key}: ${e.message}`).join('; ') })
  const stats = core.activity.stats()
  checks.push({
    name: 'activity_log',
    ok: !stats.last_error && stats.dropped === 0,
    detail: stats.last_error ? `writer error: ${stats.last_error}` : `${stats.written} written, ${stats.dropped} dropped, ${stats.queued} queued`,
  })
  for (const s of core.upstreams.list()) {
    if (s.health.level === 'healthy') continue
    checks.push({ name: `server:${s.name}`, ok: false, detail: s.health.detail ?? s.health.summary, action: s.health.action || undefined })
  }
  const changes = core.upstreams.pendingToolChanges()
  checks.push({
    name: 'tool_changes',
    ok: changes.length === 0,
    detail: changes.length === 0 ? 'no unapproved tool changes' : changes.map((c) => `${c.server}:${c.tool}`).join(', '),
    action: changes.length ? 'approve' : undefined,
  })
  const pending = core.approvals.list().length
  checks.push({ name: 'approvals', ok: pending === 0, detail: `${pending} pending` })
  if (ctx.socketPath) checks.push({ name: 'socket', ok: existsSync(ctx.socketPath), detail: ctx.socketPath })
  return { ok: checks.every((c) => c.ok), checks }
}

export function registerStatusRoutes(app: ZodApp, ctx: HttpContext): void {
  const { core } = ctx
  app.get('/status', { schema: { tags: ['status'], summary: 'Server status and statistics' } }, async () => core.status())

  app.get('/info', { schema: { tags: ['status'], summary: 'Application info: version, web UI URL, endpoints' } }, async () => {
    const address = ctx.address()
    return ok({
      version: core.status().version,
      web_ui_url: `http://${address}/ui/?apikey=${encodeURIComponent(core.apiKey)}`,
      listen_addr: address,
      mcp_url: `http://${address}/mcp`,
      endpoints: { http: address, socket: ctx.socketPath ?? '' },
      update: null,
    })
  })

  app.get('/diagnostics', { schema: { tags: ['status'], summary: 'System diagnostics' } }, async () => {
    const servers = core.upstreams.list()
    return ok({
      version: core.status().version,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      pid: process.pid,
      uptime_s: Math.round(process.uptime()),
      memory: process.memoryUsage(),
      data_dir: core.paths.dataDir,
      activity: { writer: core.activity.stats(), last_seq: core.activity.lastSeq() },
      events: ctx.hub.stats(),
      upstream_errors: servers.filter((s) => s.last_error).map((s) => ({ server: s.name, state: s.state, error: s.last_error })),
      sessions: core.sessions.list().filter((s) => s.active).length,
      approvals_pending: core.approvals.list().length,
    })
  })

  app.get('/doctor', { schema: { tags: ['status'], summary: 'Health checks (same as `mcpproxy doctor`)' } }, async () => ok(runDoctor(ctx)))
}

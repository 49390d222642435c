/**
 * The core's one entry: `createCore(options)` wires config, the activity store, the upstream
 * manager, the gates, the MCP front ends and (optionally) the HTTP server. The Electron main,
 * `mcpproxy serve`, `mcpproxy stdio` and the tests all start the product through it.
 */
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SHARED_THREAD_IMPORT_CHUNK } from './activity/import'
import { createActivityStore } from './activity/store'
import { activitySettingsFrom } from './config/activity-settings'
import { dataDirPaths, loadConfig } from './config/load'
import { createConfigService } from './config/service'
import { createConfigStore } from './config/store'
import type { StatusInfo } from '../shared/servers'
import type { Core, CoreOptions } from './core-types'
import { closeOrphans, ORPHAN_SWEEP_INTERVAL_MS } from './activity/orphans'
import { EventBus } from './events/bus'
import { CoreError } from './errors'
import { createHttpServer, type HttpServerHandle } from './http/server'
import { getJsonOverSocket, socketInUse } from './http/unix-socket'
import { createLogger, type Logger } from './logger'
import { createOtelExporter } from './otel/exporter'
import { createProxyServices } from './proxy/mcp-front-end'
import { createUpstreamManager } from './proxy/upstream-manager'
import { openDb } from './store/db'

export { activitySettingsFrom } from './config/activity-settings'

export const VERSION = '0.1.0'

/** how long a core waits for the core `mcpproxy stdio` started to stop before it gives up */
const TAKE_OVER_WAIT_MS = 15_000
/** how long a stopping core lets bridged stdio calls in flight finish (less than TAKE_OVER_WAIT_MS) */
const STDIO_DRAIN_MS = 10_000

/**
 * Another core answers on the data dir's socket. When `mcpproxy stdio` started it for its clients
 * (it reports idle_exit_s), it is asked to stop and this core takes its place: the bridges of its
 * clients reconnect to this one. Any other core (the app, a `serve`) refuses this start.
 */
async function takeOverOrRefuse(paths: { dataDir: string; socket: string }, logger: Logger, mayTakeOver: boolean): Promise<void> {
  const other = (await getJsonOverSocket(paths.socket, '/api/v1/status')) as Partial<StatusInfo> | null
  // a shared core never takes over (another client's shared core serves this one's bridge as well)
  if (mayTakeOver && other && typeof other.idle_exit_s === 'number' && typeof other.pid === 'number' && other.pid !== process.pid) {
    // (a warning, so that it shows where serve runs: its stdio clients move to this core)
    logger.warn('taking over from the shared core mcpproxy stdio started; its clients move to this core', { pid: other.pid })
    try {
      process.kill(other.pid, 'SIGTERM')
    } catch {
      // already gone
    }
    if (await socketGoneWithin(paths.socket, TAKE_OVER_WAIT_MS)) return
    throw new CoreError('CONFLICT', `the core mcpproxy stdio started for ${paths.dataDir} (pid ${other.pid}) did not stop within ${TAKE_OVER_WAIT_MS / 1000} s`)
  }
  // no status: a core that is stopping (it answers 503) or too busy; one stopping is waited for
  if (!other && (await socketGoneWithin(paths.socket, TAKE_OVER_WAIT_MS))) return
  throw new CoreError(
    'CONFLICT',
    `another mcpproxy core is already running for ${paths.dataDir} (its socket ${paths.socket} answers): stop it first, or use another --data-dir`,
  )
}

/** Whether nothing answers on the socket any more within ms. */
async function socketGoneWithin(socket: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (!(await socketInUse(socket))) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

export async function createCore(options: CoreOptions): Promise<Core> {
  const paths = dataDirPaths(options.dataDir)
  const loaded = loadConfig(paths.dataDir)
  // the environment's key overrides the file's for the life of the process (read once: /mcp checks it per request)
  const envApiKey = process.env.MCPPROXY_API_KEY
  const logger = options.logger ?? createLogger({ file: join(paths.logs, 'mcpproxy.log'), scope: 'core' })
  const version = options.version ?? VERSION
  const bus = new EventBus((err) => logger.error('event listener failed', { error: (err as Error).message }))
  const activity = createActivityStore({
    file: paths.db,
    settings: activitySettingsFrom(loaded.config),
    logger: logger.child('activity'),
    nativeBinding: options.nativeBinding,
    writerWorkerUrl: options.writerWorkerUrl,
    importWorkerUrl: options.importWorkerUrl,
    readWorkerUrl: options.readWorkerUrl,
    importChunkRecords: SHARED_THREAD_IMPORT_CHUNK,
  })
  const configStore = createConfigStore(paths.config, loaded, bus, logger.child('config'))
  configStore.onChange((config) => activity.updateSettings(activitySettingsFrom(config)))
  // the proxy keeps sessions and tool pins in the same file through its own connection
  const proxyDb = openDb(paths.db, { nativeBinding: options.nativeBinding })

  const upstreams = createUpstreamManager({ config: configStore, recorder: activity, bus, db: proxyDb, logger: logger.child('upstreams') })
  const proxy = createProxyServices({
    upstreams,
    config: () => configStore.current(),
    recorder: activity,
    bus,
    logger,
    db: proxyDb,
    version,
    // without HTTP (stdio on its own) nobody can answer an approval
    approvers: Boolean(options.http),
  })
  const { mcp, approvals, sessions, tools: toolSearch } = proxy

  const otelConfig = loaded.config.otel
  const otel = otelConfig.enabled
    ? createOtelExporter({ endpoint: otelConfig.endpoint, headers: otelConfig.headers, serviceName: 'mcpproxy', logger: logger.child('otel') })
    : null
  const offOtel = otel
    ? activity.onAppended((batch) => {
        for (const r of batch.records) if (r.type === 'tool_call' && r.status !== 'pending') otel.exportToolCall(r)
      })
    : null

  const startedAt = Date.now()
  let http: HttpServerHandle | null = null
  let stopped = false
  /** system_stop is recorded only after a system_start (a start refused before it records neither) */
  let startRecorded = false
  let orphanSweep: NodeJS.Timeout | null = null
  const sweepOrphans = (): void => {
    try {
      const c = configStore.current()
      const closed = closeOrphans(proxyDb, activity, { callTimeoutMs: c.call_timeout_ms, approvalTimeoutS: c.approval_timeout_s })
      if (closed) logger.warn('completed pending records whose process had ended as interrupted', { count: closed })
    } catch (err) {
      logger.warn('looking for interrupted pending records failed', { error: (err as Error).message })
    }
  }

  const core: Core = {
    paths,
    // read at every check: a key changed in the file (or through the API) works at once, the old one no longer
    get apiKey() {
      return envApiKey || configStore.current().api_key || loaded.apiKey
    },
    bus,
    logger,
    activity,
    upstreams,
    tools: toolSearch,
    sessions,
    approvals,
    mcp,
    config: createConfigService(configStore, activity),
    get listenAddress() {
      return http?.address ?? null
    },
    status() {
      const servers = upstreams.list()
      const stats = activity.stats()
      const listen = http?.address ?? options.listen ?? configStore.current().listen
      let dbBytes = 0
      for (const suffix of ['', '-wal']) {
        try {
          dbBytes += statSync(paths.db + suffix).size
        } catch {
          // the WAL file does not exist between checkpoints
        }
      }
      return {
        status: 'running',
        version,
        pid: process.pid,
        idle_exit_s: options.idleExitS ?? null,
        uptime: Math.round((Date.now() - startedAt) / 1000),
        listen,
        mcp_url: `http://${listen}/mcp`,
        web_ui_url: `http://${listen}/ui/`,
        data_dir: paths.dataDir,
        servers: {
          total: servers.length,
          connected: servers.filter((s) => s.connected).length,
          quarantined: servers.filter((s) => s.quarantined).length,
          disabled: servers.filter((s) => !s.enabled).length,
        },
        tools: { total: upstreams.tools().length },
        approvals: { pending: approvals.list().length },
        clients: { mcp_sessions: sessions.list().filter((s) => s.active).length, event_viewers: http?.eventClients() ?? 0 },
        activity: {
          queued: stats.queued,
          written: stats.written,
          dropped: stats.dropped,
          dropped_by_type: stats.dropped_by_type as Record<string, number>,
          db_bytes: dbBytes,
          last_error: stats.last_error,
        },
      }
    },
    async start() {
      // one core serving the data dir's socket: a second would start every upstream again and
      // write the same log. (A core without HTTP serves one stdio client of its own, deliberately
      // beside any other: it neither takes over nor is refused.)
      if (options.http && process.platform !== 'win32' && existsSync(paths.socket) && (await socketInUse(paths.socket))) {
        await takeOverOrRefuse(paths, logger, options.idleExitS === undefined)
      }
      activity.record({ type: 'system_start', status: 'success', metadata: { version, pid: process.pid, data_dir: paths.dataDir } })
      startRecorded = true
      // calls and approvals a killed process left pending are completed as interrupted (now, and as they age)
      sweepOrphans()
      orphanSweep = setInterval(sweepOrphans, ORPHAN_SWEEP_INTERVAL_MS)
      orphanSweep.unref()
      if (options.watchConfig !== false) configStore.watch()
      if (options.http) {
        http = await createHttpServer(core, {
          listen: options.listen ?? configStore.current().listen,
          webUiDir: options.webUiDir,
          socketPath: paths.socket,
          holdSessions: true,
        })
      }
      try {
        await upstreams.start()
        // first tools/list answers with the catalogue rather than an empty list, within reason
        await upstreams.ready?.(5000)
      } finally {
        // MCP clients that came meanwhile (over /mcp or a bridge) were held until now
        http?.acceptSessions()
      }
    },
    async stop() {
      if (stopped) return
      stopped = true
      if (orphanSweep) clearInterval(orphanSweep)
      configStore.close()
      // the bridges of `mcpproxy stdio` clients let their calls in flight finish and move to the next core
      await http?.drainStdio(STDIO_DRAIN_MS)
      // pending approvals are denied and answered before the HTTP server goes away
      await mcp.close()
      await http?.close().catch((err: Error) => logger.warn('http close failed', { error: err.message }))
      await upstreams.stop()
      offOtel?.()
      await otel?.shutdown()
      if (startRecorded) {
        activity.record({ type: 'system_stop', status: 'success', metadata: { version, pid: process.pid, uptime_s: Math.round((Date.now() - startedAt) / 1000) } })
      }
      try {
        // rejects when records could not be written (a full disk), after saying how many on the logger
        await activity.close()
      } finally {
        proxyDb.close()
      }
    },
  }
  return core
}

export type { Core, CoreOptions } from './core-types'

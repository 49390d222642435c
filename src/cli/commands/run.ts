/** `mcpproxy serve`, `mcpproxy stdio` and `mcpproxy wrap -- CMD ARGS...`: the commands that run the proxy. */
import { readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { loadConfig } from '../../core/config/load'
import { createLogger, type Logger } from '../../core/logger'
import type { UpstreamManager } from '../../core/proxy/types'
import type { StatusInfo } from '../../shared/servers'
import type { InThreadRecording } from '../../core/proxy/wrap'
import { lineSplitter } from '../../core/proxy/json-lines'
import type { CliContext } from '../context'
import { EXIT_ERROR, EXIT_OK, usageError } from '../errors'
import { printJson, printLine, renderFields } from '../output'
import { removeRuntimeFile, writeRuntimeFile } from '../runtime-file'

// the core (fastify, the MCP SDK, OpenTelemetry) is imported only by the commands that run it,
// so REST-only commands start fast
const loadCore = () => import('../../core/index')

/**
 * Stops the core and gives the exit code: 1 when stopping failed, which includes activity
 * records the writer could not write before closing (a full disk; the logger said how many on
 * stderr), so a lost record never ends in a clean exit.
 */
async function stopCore(core: { stop(): Promise<void> }, logger: Logger): Promise<number> {
  try {
    await core.stop()
    return EXIT_OK
  } catch (err) {
    logger.error('stopping failed', { error: (err as Error).message })
    return EXIT_ERROR
  }
}

function onShutdown(handler: (signal: string) => Promise<void>): void {
  let stopping = false
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stopping) return
      stopping = true
      void handler(sig)
    })
  }
}

const LISTEN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

export function serveCommand(getCtx: () => CliContext, webUiDir: string): Command {
  return new Command('serve')
    .description('run the core headless: MCP at /mcp, REST at /api/v1, live events, the web UI')
    .option('--listen <host:port>', 'listen address (default: listen from the config, 127.0.0.1:8080)')
    .option('--json', 'print the URLs as one JSON line')
    .option('--idle-exit <seconds>', 'exit once no MCP client has been connected for this long (how `mcpproxy stdio` runs its shared core; `serve` or the app take over from such a core)')
    .action(async (flags: { listen?: string; json?: boolean; idleExit?: string }) => {
      const ctx = getCtx()
      if (flags.listen && !LISTEN.test(flags.listen)) throw usageError('--listen: must be host:port, e.g. 127.0.0.1:8080')
      const idleExitS = flags.idleExit === undefined ? undefined : Number(flags.idleExit)
      if (idleExitS !== undefined && !(Number.isInteger(idleExitS) && idleExitS >= 1)) throw usageError('--idle-exit: must be a whole number of seconds, at least 1')
      const logger = fileAndStderrLogger(join(ctx.paths.logs, 'mcpproxy.log'), 'core')
      const { createCore, VERSION } = await loadCore()
      const core = await createCore({ dataDir: ctx.dataDir, listen: flags.listen, http: true, webUiDir, logger, version: VERSION, writerWorkerUrl: ctx.workers?.writer, importWorkerUrl: ctx.workers?.import, readWorkerUrl: ctx.workers?.read, idleExitS })
      // a signal during the idle exit (or the other way round) stops once
      let stopping: Promise<void> | null = null
      const shutdown = (signal: string): Promise<void> =>
        (stopping ??= (async () => {
          // (on stderr: stdout carries the URLs, or the one JSON line of --json)
          process.stderr.write(`mcpproxy: stopping (${signal}): calls in flight finish first, up to 10 s\n`)
          const code = await stopCore(core, logger)
          process.stderr.write(`mcpproxy: stopped${code === 0 ? '' : ` (exit ${code}: see ${join(ctx.paths.logs, 'mcpproxy.log')})`}\n`)
          removeRuntimeFile(ctx.dataDir)
          process.exit(code)
        })())
      onShutdown(shutdown)
      try {
        await core.start()
      } catch (err) {
        await core.stop().catch(() => {})
        throw err
      }
      const s = core.status()
      const webUi = `${s.web_ui_url}?apikey=${encodeURIComponent(core.apiKey)}`
      writeRuntimeFile(ctx.dataDir, { pid: process.pid, listen: s.listen, mcp_url: s.mcp_url, web_ui_url: s.web_ui_url, started_at: new Date().toISOString() })
      if (idleExitS !== undefined) exitWhenIdle(core, idleExitS, logger, shutdown)
      if (ctx.json || flags.json) printJson({ web_ui_url: webUi, mcp_url: s.mcp_url, listen: s.listen, data_dir: s.data_dir, socket: core.paths.socket })
      else {
        printLine(`mcpproxy ${s.version} is running (Ctrl-C to stop)`)
        printLine(
          renderFields([
            ['Web UI', webUi],
            ['MCP endpoint', s.mcp_url],
            ['REST API', `http://${s.listen}/api/v1 (X-API-Key from ${ctx.paths.config})`],
            ['Data dir', s.data_dir],
          ]),
        )
      }
    })
}

/**
 * Stops the core once, for `seconds` (counted from the start too), no MCP session has been open
 * and nobody has followed its live events (the web UI or `activity watch` keep it running).
 */
function exitWhenIdle(core: { status(): { clients: StatusInfo['clients'] } }, seconds: number, logger: Logger, shutdown: (signal: string) => Promise<void>): void {
  let idleSince = Date.now()
  const timer = setInterval(() => {
    const { mcp_sessions, event_viewers } = core.status().clients
    if (mcp_sessions > 0 || event_viewers > 0) idleSince = Date.now()
    else if (Date.now() - idleSince >= seconds * 1000) {
      clearInterval(timer)
      logger.info('no MCP client or viewer for a while: stopping', { idle_exit_s: seconds })
      void shutdown('idle')
    }
  }, Math.min(1000, seconds * 250))
}

/** Everything to the data dir's log file; warnings and errors also to stderr (never stdout). */
function fileAndStderrLogger(file: string, scope: string): Logger {
  const tee = (a: Logger, b: Logger): Logger => ({
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (s) => tee(a.child(s), b.child(s)),
  })
  return tee(createLogger({ file, scope }), createLogger({ stderr: true, level: 'warn', scope }))
}

// clients ask for the tool list once, right after initialize: give upstreams a moment to connect
const STDIO_CONNECT_WAIT_MS = 15_000

/** Resolves once every enabled upstream has connected or failed once (or the wait is over). */
async function settled(upstreams: UpstreamManager & { ready?: (timeoutMs?: number) => Promise<void> }, maxMs: number): Promise<void> {
  if (upstreams.ready) return upstreams.ready(maxMs)
  const deadline = Date.now() + maxMs
  while (Date.now() < deadline) {
    const pending = upstreams.list().filter((s) => s.enabled && (s.state === 'connecting' || s.state === 'disconnected'))
    if (!pending.length) return
    await new Promise((r) => setTimeout(r, 50))
  }
}

function parentExe(): string | undefined {
  try {
    return readlinkSync(`/proc/${process.ppid}/exe`)
  } catch {
    return undefined
  }
}

export function stdioCommand(getCtx: () => CliContext): Command {
  return new Command('stdio')
    .description("the aggregated MCP server over stdin/stdout: bridges to the data dir's core, starting a shared one (serve --idle-exit) when none runs")
    .action(async () => {
      const ctx = getCtx()
      // stdout carries MCP only: logs go to the data dir's logs/ and, for warnings, stderr
      const logger = fileAndStderrLogger(join(ctx.paths.logs, 'mcpproxy-stdio.log'), 'stdio')
      let core: Awaited<ReturnType<Awaited<ReturnType<typeof loadCore>>['createCore']>> | undefined
      try {
        // every client of the data dir shares one core: the running one, else a shared core started now
        const link = await import('../core-link')
        let first = await link.openSession(ctx)
        if (first) logger.info('bridging stdio to the running core', { socket: ctx.paths.socket })
        let alone = ''
        if (!first && process.platform !== 'win32') {
          // a broken config is reported as it is, not as a shared core that exited
          ctx.config()
          first = await link.startSharedCore(ctx, logger).catch((err: Error) => {
            alone = err.message
            return null
          })
        }
        if (first) {
          const { runStdioBridge } = await import('../../core/proxy/stdio-bridge')
          process.exitCode = await runStdioBridge({ input: process.stdin, output: process.stdout, first, reconnect: link.reconnector(ctx, logger), logger })
          // (when it gave up, the client may still hold stdin open: this process ends all the same)
          process.stdin.destroy()
          return
        }
        // no core could be shared (no socket on this platform, or the shared core failed: its
        // reason is on stderr): the upstreams run in this process, for this client only
        if (alone) logger.warn(`cannot start a shared core (${alone}); serving this client on its own`)
        const { createCore, VERSION } = await loadCore()
        core = await createCore({ dataDir: ctx.dataDir, http: false, logger, version: VERSION, writerWorkerUrl: ctx.workers?.writer, importWorkerUrl: ctx.workers?.import, readWorkerUrl: ctx.workers?.read })
        const own = core
        onShutdown(async () => process.exit(await stopCore(own, logger)))
        await core.start()
      } catch (err) {
        // the client waits for its initialize answer: it gets the reason too, not only an EOF
        await answerFirstRequest(`mcpproxy stdio cannot start: ${(err as Error).message}`)
        await core?.stop().catch(() => undefined)
        throw err
      }
      await settled(core.upstreams, STDIO_CONNECT_WAIT_MS)
      try {
        await core.mcp.serveStdio(process.stdin, process.stdout, { pid: process.ppid, exe: parentExe() })
      } finally {
        await core.stop()
      }
    })
}

/** Answers the first request on stdin (within waitMs) with a JSON-RPC error carrying `message`. */
async function answerFirstRequest(message: string, waitMs = 2000): Promise<void> {
  const line = await new Promise<Buffer | null>((resolve) => {
    const done = (l: Buffer | null): void => {
      clearTimeout(timer)
      process.stdin.off('data', onData)
      process.stdin.pause()
      resolve(l)
    }
    const split = lineSplitter((l) => done(l))
    const onData = (chunk: Buffer): void => split(chunk)
    const timer = setTimeout(() => done(null), waitMs)
    process.stdin.on('data', onData)
    process.stdin.once('end', () => done(null))
  })
  if (!line) return
  try {
    const m = JSON.parse(line.toString('utf8')) as { id?: unknown; method?: unknown }
    if ((typeof m.id === 'string' || typeof m.id === 'number') && typeof m.method === 'string') {
      process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32603, message } }) + '\n')
    }
  } catch {
    // not a request: nothing to answer
  }
}

const list = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)]

export function wrapCommand(getCtx: () => CliContext): Command {
  return new Command('wrap')
    .description('a transparent stdio proxy for one MCP server, recording every message: wrap -- CMD ARGS...')
    .option('--sensitive-tools <tools...>', 'tools whose calls are marked sensitive (also comma-separated)')
    .option('--write-tools <tools...>', 'tools that write (also comma-separated)')
    .option('--server-name <name>', 'server name on the records (default: the name the server reports)')
    .option('--tool-calls-only', 'record tool calls only, not the other messages (initialize, lists, resources, prompts, notifications)')
    .argument('<command...>', 'the server command and its arguments, after --')
    .action(async (command: string[], flags: { sensitiveTools?: string[]; writeTools?: string[]; serverName?: string; toolCallsOnly?: boolean }) => {
      const ctx = getCtx()
      const { config } = loadConfig(ctx.dataDir)
      const logger = fileAndStderrLogger(join(ctx.paths.logs, 'mcpproxy-wrap.log'), 'wrap')
      const [{ createActivityStore }, { runWrap }, { activitySettingsFrom }, { openDb }, { DEFAULT_ACTIVITY_SETTINGS }] = await Promise.all([
        import('../../core/activity/store'),
        import('../../core/proxy/wrap'),
        import('../../core/config/activity-settings'),
        import('../../core/store/db'),
        import('../../core/activity/types'),
      ])
      const settings = { ...DEFAULT_ACTIVITY_SETTINGS, ...activitySettingsFrom(config) }
      // a database this version cannot use is reported now, before the server starts
      openDb(ctx.paths.db).close()
      // recording on this thread: from sources, or when the recording thread fails (opened only then)
      const opened: { store?: ReturnType<typeof createActivityStore>; db?: ReturnType<typeof openDb> } = {}
      const inThread = (): InThreadRecording => {
        opened.store ??= createActivityStore({ file: ctx.paths.db, settings, logger: logger.child('activity'), retention: false })
        // the wrap session is kept in the same database as the app's sessions
        opened.db ??= openDb(ctx.paths.db)
        return { recorder: opened.store, db: opened.db, redactPii: settings.redactPii }
      }
      const flat = (v: string[] | undefined): string[] => (v ?? []).flatMap((s) => list(s, []))
      let code = 1
      try {
        code = await runWrap({
          command: command[0]!,
          args: command.slice(1),
          sensitiveTools: [...config.sensitive_tools, ...flat(flags.sensitiveTools)],
          writeTools: [...config.write_tools, ...flat(flags.writeTools)],
          serverName: flags.serverName,
          toolCallsOnly: flags.toolCallsOnly,
          callTimeoutMs: config.call_timeout_ms,
          forwardSignals: true,
          recording: ctx.workers ? { workerUrl: ctx.workers.wrap, file: ctx.paths.db, settings, fallback: inThread } : inThread(),
          logger,
          stdin: process.stdin,
          stdout: process.stdout,
        })
      } finally {
        await opened.store?.close()
        opened.db?.close()
      }
      process.exitCode = code
    })
}

// Child-process entry for bench/proxy.ts's diagnostic variants: runs one of our front ends with the
// activity writer on this thread, or with recording off (the main figures use the built command).
//   wrap  <dataDir> -- CMD ARGS...   transparent stdio proxy
//   stdio <dataDir>                  aggregated server over stdio (upstreams from <dataDir>/mcp_config.json)
//   http  <dataDir> <port>           aggregated server on http://127.0.0.1:<port>/mcp
import { createServer } from 'node:http'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { createWorkerWriter } from '../src/core/activity/worker-writer'
import { createActivityWriter } from '../src/core/activity/writer'
import { DEFAULT_ACTIVITY_SETTINGS } from '../src/core/activity/types'
import { ConfigSchema } from '../src/core/config/schema'
import { createConfigStore } from '../src/core/config/store'
import { EventBus } from '../src/core/events/bus'
import { silentLogger } from '../src/core/logger'
import { createProxyServices } from '../src/core/proxy/mcp-front-end'
import { createUpstreamManager } from '../src/core/proxy/upstream-manager'
import { runWrap } from '../src/core/proxy/wrap'
import { openDb } from '../src/core/store/db'

const [mode, dataDir, ...rest] = process.argv.slice(2)
if (!mode || !dataDir) throw new Error('usage: proxy-entry.ts wrap|stdio|http <dataDir> ...')
// MCPPROXY_BENCH_DB names the database file in the data dir (one per contender)
const dbFile = join(dataDir, process.env.MCPPROXY_BENCH_DB ?? `activity-${mode}.db`)
const db = openDb(dbFile)
// MCPPROXY_BENCH_WRITER_WORKER=<built writer-worker.mjs> writes on a worker thread (as the CLI and core do)
const workerUrl = process.env.MCPPROXY_BENCH_WRITER_WORKER
const realWriter = workerUrl
  ? createWorkerWriter(db, DEFAULT_ACTIVITY_SETTINGS, silentLogger, {}, { workerUrl: pathToFileURL(workerUrl), file: dbFile })
  : createActivityWriter(db, DEFAULT_ACTIVITY_SETTINGS, silentLogger)
// MCPPROXY_BENCH_NO_RECORD=1 measures the proxy alone (what recording costs is the difference)
const writer: typeof realWriter =
  process.env.MCPPROXY_BENCH_NO_RECORD === '1'
    ? { ...realWriter, record: (input) => input.id ?? String(Math.random()), complete: () => undefined }
    : realWriter

if (mode === 'wrap') {
  const [command, ...args] = rest[0] === '--' ? rest.slice(1) : rest
  const code = await runWrap({ command: command!, args, sensitiveTools: [], writeTools: [], recording: { recorder: writer }, logger: silentLogger, stdin: process.stdin, stdout: process.stdout })
  await writer.close()
  process.exit(code)
}

const configFile = join(dataDir, 'mcp_config.json')
const raw = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>
const bus = new EventBus()
const config = createConfigStore(configFile, { config: ConfigSchema.parse(raw), raw }, bus, silentLogger)
const upstreams = createUpstreamManager({ config, recorder: writer, bus, db, logger: silentLogger })
await upstreams.start()
await upstreams.ready(20_000)
const services = createProxyServices({ upstreams, config: () => config.current(), recorder: writer, bus, logger: silentLogger, db })

const shutdown = async (): Promise<void> => {
  await services.mcp.close()
  await upstreams.stop()
  await writer.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown())

if (mode === 'stdio') {
  await services.mcp.serveStdio(process.stdin, process.stdout)
  await shutdown()
} else {
  const http = createServer((req, res) => void services.mcp.handleHttp(req, res))
  http.keepAliveTimeout = 60_000
  http.listen(Number(rest[0]), '127.0.0.1', () => process.stderr.write('listening\n'))
}

// Proxy benchmark: server-everything's echo over stdio, recording on (real SQLite in temp data dirs).
// The contenders are the built `mcpproxy` command as users run it (`wrap`, `stdio`, `serve`), a
// direct client-to-server connection, and the HTTP peers `mcp-proxy` and `supergateway` wrapping
// the same server. Every contender stays connected and they are measured in interleaved rounds
// (direct, wrap, stdio, direct, wrap, ...), so a busy spell of this shared machine hits them all
// alike; the figures are medians over the rounds and each ratio is the median of the per-round
// ratios. After each of our rounds the bench waits until the activity log holds every call, and
// prints the longest wait ("log lag"): recording runs at a lower priority than relaying, so a
// saturated machine delays the log, never the calls.
//   npm run bench:proxy [-- --calls 10000 --http-calls 3000 --rounds 5 --only stdio|http --unrecorded --in-thread]
// --unrecorded and --in-thread add diagnostic variants of our front ends (bench/proxy-entry.ts):
// recording off (what recording costs), and the activity writer on the relay's own thread.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import Database from 'better-sqlite3'
import { build } from 'esbuild'

const argv = process.argv.slice(2)
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : dflt
}
const CALLS = opt('calls', 10000)
const HTTP_CALLS = opt('http-calls', 3000)
const ROUNDS = Math.max(1, opt('rounds', 5))
const UNRECORDED = argv.includes('--unrecorded')
const IN_THREAD = argv.includes('--in-thread')
const ONLY = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined
const IN_FLIGHT = 16
const WARMUP = 200
const API_KEY = 'bench-key-0123456789abcdef'

const require = createRequire(import.meta.url)
const EVERYTHING = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js')
const MCP_PROXY = resolve('node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs')
const SUPERGATEWAY = resolve('node_modules/supergateway/dist/index.js')
const CLI = resolve('out/cli/mcpproxy.js')
const node = process.execPath
// diagnostic variants are built per run (pid), so two runs at once do not overwrite each other
const BUILD_DIR = resolve(`.tmp/bench-proxy-${process.pid}`)
const ENTRY = join(BUILD_DIR, 'proxy-entry.mjs')
const WORKER_FILE = join(BUILD_DIR, 'writer-worker.mjs')

type Call = (message: string) => Promise<string>

interface Contender {
  name: string
  call: Call
  /** the serving process (its tree's CPU is measured) */
  pid?: number
  /** the activity database to wait for after each round (our front ends) */
  db?: string
  /** tool calls made through it so far (warm-up included) */
  made: number
  close(): Promise<void>
}

interface Figures {
  p50: number
  p95: number
  rps: number
  /** CPU of the serving process tree per call in the in-flight phase (ms) */
  cpu: number
  /** ms from the end of the round until the log held every call (NaN: not recorded) */
  lag: number
}

/** A process and its descendants. */
function processTree(root: number): number[] {
  const parent = new Map<number, number>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // ended meanwhile
    }
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid)
  return out
}

/** user+system CPU of the processes (and all their threads), in ms (clock ticks of 10 ms). */
function cpuOf(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return ticks * 10
}

const text = (r: unknown): string => ((r as CallToolResult).content?.[0] as { text?: string } | undefined)?.text ?? ''

function callerFor(client: Client, proxied: boolean): Call {
  return proxied
    ? (message) => client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message } } }).then(text)
    : (message) => client.callTool({ name: 'echo', arguments: { message } }).then(text)
}

/** Counts the calls made through a contender, so the log wait knows how many records to expect. */
function counted(c: Omit<Contender, 'made' | 'call'> & { call: Call }): Contender {
  const contender: Contender = { ...c, made: 0, call: (m) => ((contender.made++, c.call(m))) }
  return contender
}

/** Completed tool calls in an activity database (0 while it does not exist yet). */
function loggedCalls(file: string): number {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true })
    try {
      return (db.prepare("SELECT count(*) AS n FROM activity WHERE type = 'tool_call' AND status <> 'pending'").get() as { n: number }).n
    } finally {
      db.close()
    }
  } catch {
    return 0
  }
}

async function waitForLog(c: Contender): Promise<number> {
  if (!c.db) return NaN
  const t0 = performance.now()
  const deadline = t0 + 60_000
  while (loggedCalls(c.db) < c.made) {
    if (performance.now() > deadline) throw new Error(`${c.name}: the log holds ${loggedCalls(c.db)} of ${c.made} calls after 60 s`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return performance.now() - t0
}

async function measureRound(c: Contender, calls: number): Promise<Figures> {
  const times: number[] = []
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now()
    const out = await c.call(`s${i}`)
    times.push(performance.now() - t0)
    if (out !== `Echo: s${i}`) throw new Error(`${c.name}: wrong answer: ${out.slice(0, 80)}`)
  }
  times.sort((a, b) => a - b)
  const tree = c.pid ? processTree(c.pid) : []
  const c0 = cpuOf(tree)
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < calls * 2) {
        const i = next++
        const out = await c.call(`t${i}`)
        if (out !== `Echo: t${i}`) throw new Error(`${c.name}: wrong answer: ${out.slice(0, 80)}`)
      }
    }),
  )
  const rps = (calls * 2) / ((performance.now() - t0) / 1000)
  const cpu = (cpuOf(tree) - c0) / (calls * 2)
  const lag = await waitForLog(c)
  return { p50: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]!, rps, cpu, lag }
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN
}

/** Warms every contender up, then measures them in interleaved rounds. */
async function rounds(contenders: Contender[], calls: number): Promise<Figures[][]> {
  for (const c of contenders) {
    for (let i = 0; i < WARMUP; i++) await c.call(`w${i}`)
    await waitForLog(c)
  }
  const perRound = Math.max(50, Math.round(calls / ROUNDS))
  const out: Figures[][] = contenders.map(() => [])
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, c] of contenders.entries()) out[i]!.push(await measureRound(c, perRound))
    process.stderr.write(`[bench:proxy] round ${r + 1}/${ROUNDS} done\n`)
  }
  return out
}

interface Summary {
  p50: number
  p95: number
  rps: number
  cpu: number
  lag: number
}
const summarize = (figs: Figures[]): Summary => ({
  p50: median(figs.map((f) => f.p50)),
  p95: median(figs.map((f) => f.p95)),
  rps: median(figs.map((f) => f.rps)),
  cpu: median(figs.map((f) => f.cpu)),
  lag: Math.max(...figs.map((f) => f.lag)),
})
/** Median over rounds of a per-round ratio of contender `a` to contender `b`. */
const ratio = (a: Figures[], b: Figures[], key: 'p50' | 'rps' | 'cpu'): number => median(a.map((f, i) => f[key] / b[i]![key]))
/** The median per-round ratio with the lowest and highest round, e.g. `1.92 (1.60-2.31)`. */
const ratioText = (a: Figures[], b: Figures[], key: 'p50' | 'rps' | 'cpu'): string => {
  const all = a.map((x, i) => x[key] / b[i]![key]).filter((x) => !Number.isNaN(x))
  if (!all.length) return '-'
  return `${f(ratio(a, b, key), 2)} (${f(Math.min(...all), 2)}-${f(Math.max(...all), 2)})`
}

async function megabyte(call: Call): Promise<string> {
  const big = 'm'.repeat(1024 * 1024)
  try {
    const out = await call(big)
    return out === `Echo: ${big}` ? 'pass' : `FAIL (answer of ${out.length} chars)`
  } catch (err) {
    return `FAIL (${(err as Error).message.replace(/\s+/g, ' ').slice(0, 90)})`
  }
}

/** Two clients, 16 calls in flight each; counts answers that belong to the other client. */
async function crossTalk(a: Call, b: Call, perClient = 400): Promise<string> {
  let wrong = 0
  let failed = 0
  const run = async (call: Call, tag: string): Promise<void> => {
    let next = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < perClient) {
          const i = next++
          try {
            if ((await call(`${tag}-${i}`)) !== `Echo: ${tag}-${i}`) wrong++
          } catch {
            failed++
          }
        }
      }),
    )
  }
  await Promise.all([run(a, 'A'), run(b, 'B')])
  return wrong === 0 && failed === 0 ? `pass (0 of ${perClient * 2} crossed)` : `FAIL (${wrong} crossed, ${failed} failed of ${perClient * 2})`
}

function stopSharedCore(dir: string): void {
  try {
    process.kill((JSON.parse(readFileSync(join(dir, 'runtime.json'), 'utf8')) as { pid: number }).pid, 'SIGTERM')
  } catch {
    // none running
  }
}

/** A data dir with server-everything configured (not quarantined) and a fixed API key. */
function dataDir(root: string, name: string): string {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  // port 0: a shared core that `mcpproxy stdio` starts takes any free port
  const config = { api_key: API_KEY, listen: '127.0.0.1:0', mcpServers: { everything: { command: node, args: [EVERYTHING, 'stdio'], quarantined: false } } }
  writeFileSync(join(dir, 'mcp_config.json'), JSON.stringify(config), { mode: 0o600 })
  return dir
}

async function stdioContender(name: string, args: string[], proxied: boolean, db?: string, env?: Record<string, string>): Promise<Contender> {
  const client = new Client({ name: 'bench', version: '1' })
  const transport = new StdioClientTransport({ command: node, args, stderr: 'ignore', env: env ?? (process.env as Record<string, string>) })
  await client.connect(transport)
  return counted({ name, pid: transport.pid ?? undefined, db, call: callerFor(client, proxied), close: () => client.close() })
}

async function sdkHttpClient(url: string, proxied: boolean, key: boolean): Promise<{ client: Client; call: Call }> {
  const client = new Client({ name: 'bench', version: '1' })
  const headers: Record<string, string> = key ? { 'x-api-key': API_KEY } : {}
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  return { client, call: callerFor(client, proxied) }
}

/**
 * A lean streamable-HTTP client (node:http keep-alive, JSON or SSE answers), the same for every
 * server: it costs far less CPU per call than the SDK client, so the servers' differences show.
 */
async function rawHttpClient(url: string, proxied: boolean, key: boolean): Promise<{ call: Call; close(): Promise<void> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT * 2 })
  const target = new URL(url)
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(key ? { 'x-api-key': API_KEY } : {}) }
  let nextId = 1
  type Answer = { id?: unknown; result?: unknown; error?: { message?: string } }
  const post = (body: unknown): Promise<{ status: number; sid?: string; messages: Answer[] }> =>
    new Promise((resolveP, reject) => {
      const data = JSON.stringify(body)
      const req = httpRequest(target, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(data)) } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          const type = String(res.headers['content-type'] ?? '')
          const messages = !body
            ? []
            : type.startsWith('text/event-stream')
              ? body
                  .split('\n')
                  .filter((l) => l.startsWith('data:'))
                  .map((l) => JSON.parse(l.slice(5)) as Answer)
              : [JSON.parse(body) as Answer | Answer[]].flat()
          const sid = res.headers['mcp-session-id']
          resolveP({ status: res.statusCode ?? 0, sid: typeof sid === 'string' ? sid : undefined, messages })
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(data)
    })
  const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-raw', version: '1' } } })
  if (init.sid) headers['mcp-session-id'] = init.sid
  const version = (init.messages[0]?.result as { protocolVersion?: string } | undefined)?.protocolVersion
  if (version) headers['mcp-protocol-version'] = version
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' })
  const call: Call = async (message) => {
    const id = nextId++
    const params = proxied ? { name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message } } } : { name: 'echo', arguments: { message } }
    const { messages, status } = await post({ jsonrpc: '2.0', id, method: 'tools/call', params })
    const answer = messages.find((m) => m.id === id)
    if (!answer) throw new Error(`HTTP ${status} without an answer for ${id}`)
    if (answer.error) throw new Error(answer.error.message)
    return text(answer.result)
  }
  return {
    call,
    async close() {
      await new Promise<void>((r) => {
        const req = httpRequest(target, { method: 'DELETE', agent, headers }, (res) => {
          res.resume()
          res.on('end', r)
        })
        req.on('error', () => r())
        req.end()
      })
      agent.destroy()
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
    s.on('error', rej)
  })
}

async function waitForHttp(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    try {
      await fetch(url, { method: 'GET' })
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`${name} did not start listening`)
}

interface HttpServerProc {
  name: string
  url: string
  /** ours: calls through call_tool and sends the API key */
  ours: boolean
  /** the activity database to wait for */
  db?: string
  child: ChildProcess
}

async function startHttp(name: string, args: (port: number) => string[], ours: boolean, db?: string, env?: Record<string, string>): Promise<HttpServerProc> {
  const port = await freePort()
  const child = spawn(node, args(port), { stdio: ['ignore', 'ignore', 'ignore'], env: env ?? process.env })
  const url = `http://127.0.0.1:${port}/mcp`
  await waitForHttp(url, child, name)
  return { name, url, ours, db, child }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((r) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000)
    child.once('exit', () => {
      clearTimeout(t)
      r()
    })
    child.kill('SIGTERM')
  })
}

const f = (n: number, d = 0): string => (Number.isNaN(n) ? '-' : n.toFixed(d))
const us = (ms: number): string => (Number.isNaN(ms) ? '-' : `${f(ms * 1000)} us`)
const lagText = (ms: number): string => (Number.isNaN(ms) ? '-' : `${f(ms)} ms`)
const row = (cells: string[], widths: number[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')

async function main(): Promise<void> {
  process.removeAllListeners('warning') // the SDK's HTTP client adds an abort listener per request to one signal
  const root = mkdtempSync(join(tmpdir(), 'bench-proxy-'))
  // the command as `npm run build` makes it, and the diagnostic entry
  const built = spawnSync(node, ['scripts/build-cli.mjs'], { stdio: 'inherit' })
  if (built.status !== 0) throw new Error('scripts/build-cli.mjs failed')
  if (UNRECORDED || IN_THREAD) {
    await build({ entryPoints: ['bench/proxy-entry.ts'], outfile: ENTRY, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
    await build({ entryPoints: ['src/core/activity/writer-worker.ts'], outfile: WORKER_FILE, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
  }
  const variantEnv = (variant: 'unrecorded' | 'in-thread'): Record<string, string> => {
    const env = { ...process.env } as Record<string, string>
    if (variant === 'unrecorded') Object.assign(env, { MCPPROXY_BENCH_NO_RECORD: '1', MCPPROXY_BENCH_WRITER_WORKER: WORKER_FILE })
    return env
  }
  const variants = [...(UNRECORDED ? (['unrecorded'] as const) : []), ...(IN_THREAD ? (['in-thread'] as const) : [])]
  console.log(
    `proxy bench: server-everything echo, recording on (SQLite in ${root}); ${ROUNDS} interleaved rounds; ` +
      `${CALLS} sequential + ${CALLS * 2} with ${IN_FLIGHT} in flight per contender (stdio), ${HTTP_CALLS} + ${HTTP_CALLS * 2} (HTTP)`,
  )

  // ---------------------------------------------------------------- stdio
  const stdio: Contender[] = []
  const wrapDir = dataDir(root, 'wrap')
  const stdioDir = dataDir(root, 'stdio')
  stdio.push(await stdioContender('direct (SDK client -> server)', [EVERYTHING, 'stdio'], false))
  if (ONLY !== 'http') {
    stdio.push(await stdioContender('bare byte relay (floor)', [resolve('bench/relay.mjs'), node, EVERYTHING, 'stdio'], false))
    stdio.push(await stdioContender('mcpproxy wrap', [CLI, 'wrap', '--data-dir', wrapDir, '--', node, EVERYTHING, 'stdio'], false, join(wrapDir, 'activity.db')))
    // with no core running, `mcpproxy stdio` starts the data dir's shared core and bridges to it
    // (its CPU counts: the core is the bridge's child)
    stdio.push(await stdioContender('mcpproxy stdio (call_tool)', [CLI, 'stdio', '--data-dir', stdioDir], true, join(stdioDir, 'activity.db')))
    for (const v of variants) {
      const dir = dataDir(root, `variant-${v}`)
      const db = (file: string): string | undefined => (v === 'unrecorded' ? undefined : join(dir, file))
      stdio.push(await stdioContender(`wrap, ${v}`, [ENTRY, 'wrap', dir, '--', node, EVERYTHING, 'stdio'], false, db('wrap.db'), { ...variantEnv(v), MCPPROXY_BENCH_DB: 'wrap.db' }))
      stdio.push(await stdioContender(`stdio, ${v}`, [ENTRY, 'stdio', dir], true, db('stdio.db'), { ...variantEnv(v), MCPPROXY_BENCH_DB: 'stdio.db' }))
    }
  }
  const stdioFigs = await rounds(stdio, CALLS)
  for (const c of stdio) await c.close()
  // the shared core outlives its last client by its idle time
  stopSharedCore(stdioDir)

  // ---------------------------------------------------------------- HTTP
  interface HttpResult {
    name: string
    raw: Figures[]
    sdk: Figures[]
    mib: string
    cross: string
  }
  const http: HttpResult[] = []
  if (ONLY !== 'stdio') {
    const serveDir = dataDir(root, 'serve')
    const servers: HttpServerProc[] = [
      await startHttp('mcpproxy serve /mcp (call_tool)', (p) => [CLI, 'serve', '--data-dir', serveDir, '--listen', `127.0.0.1:${p}`], true, join(serveDir, 'activity.db')),
      await startHttp('mcp-proxy (stream)', (p) => [MCP_PROXY, '--port', String(p), '--host', '127.0.0.1', '--server', 'stream', '--', node, EVERYTHING, 'stdio'], false),
      await startHttp('bare HTTP relay (floor)', (p) => [resolve('bench/http-relay.mjs'), String(p), '--', node, EVERYTHING, 'stdio'], false),
      await startHttp(
        'supergateway (streamableHttp)',
        (p) => [SUPERGATEWAY, '--stdio', `${node} ${EVERYTHING} stdio`, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(p), '--logLevel', 'none'],
        false,
      ),
    ]
    for (const v of variants) {
      const dir = dataDir(root, `http-${v}`)
      servers.push(await startHttp(`serve, ${v}`, (p) => [ENTRY, 'http', dir, String(p)], true, v === 'unrecorded' ? undefined : join(dir, 'http.db'), { ...variantEnv(v), MCPPROXY_BENCH_DB: 'http.db' }))
    }
    const raws = await Promise.all(servers.map((s) => rawHttpClient(s.url, s.ours, s.ours)))
    const rawFigs = await rounds(
      servers.map((s, i) => counted({ name: s.name, call: raws[i]!.call, pid: s.child.pid, db: s.db, close: () => raws[i]!.close() })),
      HTTP_CALLS,
    )
    for (const r of raws) await r.close()
    const sdks = await Promise.all(servers.map((s) => sdkHttpClient(s.url, s.ours, s.ours)))
    const sdkContenders = servers.map((s, i) => counted({ name: s.name, call: sdks[i]!.call, pid: s.child.pid, db: s.db, close: () => sdks[i]!.client.close() }))
    // the log wait counts every call made to a server: carry the raw client's count over
    for (const [i, c] of sdkContenders.entries()) c.made = loggedCalls(servers[i]!.db ?? '')
    const sdkFigs = await rounds(sdkContenders, Math.round(HTTP_CALLS / 2))
    for (const [i, s] of servers.entries()) {
      const a = sdks[i]!
      const mib = await megabyte(a.call)
      const b = await sdkHttpClient(s.url, s.ours, s.ours)
      const cross = await crossTalk(a.call, b.call)
      http.push({ name: s.name, raw: rawFigs[i]!, sdk: sdkFigs[i]!, mib, cross })
      await a.client.close().catch(() => undefined)
      await b.client.close().catch(() => undefined)
      await stop(s.child)
    }
  }

  // ---------------------------------------------------------------- report
  const direct = stdioFigs[0]!
  console.log('\nstdio: medians over the rounds; ratios against direct are medians of per-round ratios (targets: p50 <= 1.6x, throughput >= 0.8x)')
  const w1 = [30, 10, 10, 13, 18, 18, 17, 18, 10]
  console.log(row(['contender', 'p50', 'p95', 'calls/s @16', 'p50 x', 'calls/s x', 'serving CPU/call', 'CPU x', 'log lag'], w1))
  for (const [i, c] of stdio.entries()) {
    const s = summarize(stdioFigs[i]!)
    console.log(row([c.name, us(s.p50), us(s.p95), f(s.rps), ratioText(stdioFigs[i]!, direct, 'p50'), ratioText(stdioFigs[i]!, direct, 'rps'), us(s.cpu), ratioText(stdioFigs[i]!, direct, 'cpu'), lagText(s.lag)], w1))
  }
  if (http.length) {
    const w2 = [32, 10, 10, 13, 17, 18, 18, 18, 10]
    const header = ['contender', 'p50', 'p95', 'calls/s @16', 'serving CPU/call', 'our p50 / its', 'our calls/s / its', 'our CPU / its', 'log lag']
    const table = (title: string, pick: (r: HttpResult) => Figures[]): void => {
      const ours = pick(http[0]!)
      console.log(`\n${title}`)
      console.log(row(header, w2))
      for (const r of http) {
        const s = summarize(pick(r))
        const vs = r === http[0] ? ['-', '-', '-'] : [ratioText(ours, pick(r), 'p50'), ratioText(ours, pick(r), 'rps'), ratioText(ours, pick(r), 'cpu')]
        console.log(row([r.name, us(s.p50), us(s.p95), f(s.rps), us(s.cpu), ...vs, lagText(s.lag)], w2))
      }
    }
    console.log('\nHTTP streamable, ours against each peer (targets: our throughput >= 2x, our p50 <= 0.5x)')
    table(`lean keep-alive client (node:http), ${HTTP_CALLS} sequential + ${HTTP_CALLS * 2} with ${IN_FLIGHT} in flight`, (r) => r.raw)
    table(`SDK client (StreamableHTTPClientTransport), ${Math.round(HTTP_CALLS / 2)} sequential + ${HTTP_CALLS} with ${IN_FLIGHT} in flight`, (r) => r.sdk)
    console.log('')
    for (const r of http) console.log(`${r.name.padEnd(32)}  1 MiB round trip: ${r.mib.split('\n')[0]}; two clients at once: ${r.cross}`)
  }
  rmSync(root, { recursive: true, force: true })
  rmSync(BUILD_DIR, { recursive: true, force: true })
}

await main()
process.exit(0)

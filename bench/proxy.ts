// Proxy benchmark: server-everything's echo over stdio, recording on (real SQLite in a temp dir).
// Measures, in one run: direct client-to-server; through `wrap` and the `stdio` front end (child
// processes); HTTP /mcp of ours against mcp-proxy and supergateway (streamable HTTP). Prints p50,
// throughput with 16 calls in flight, a 1 MiB round trip, a two-client cross-talk check, and
// ratios against direct (stdio) and against the peers (HTTP).
//   npm run bench:proxy [-- --calls 2000 --http-calls 1000 --in-thread --unrecorded --only stdio|http]
// Our front ends write the log on a worker thread (as the CLI and core do); --in-thread adds them
// with the writer on the relay's thread, --unrecorded with recording off.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Agent, request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { build } from 'esbuild'

const argv = process.argv.slice(2)
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : dflt
}
const CALLS = opt('calls', 2000)
// also measure our front ends with recording off, to show what recording costs
const UNRECORDED = argv.includes('--unrecorded')
// also measure our front ends with the activity writer on the relay's own thread (no worker)
const IN_THREAD = argv.includes('--in-thread')
// built per run (pid) so that two runs at once do not overwrite each other's bundles
const BUILD_DIR = resolve(`.tmp/bench-proxy-${process.pid}`)
const WORKER_FILE = join(BUILD_DIR, 'writer-worker.mjs')
const RECORD_ENV = { ...process.env, MCPPROXY_BENCH_WRITER_WORKER: WORKER_FILE } as Record<string, string>
const IN_THREAD_ENV = { ...process.env } as Record<string, string>
delete IN_THREAD_ENV.MCPPROXY_BENCH_WRITER_WORKER
const NO_RECORD_ENV = { ...process.env, MCPPROXY_BENCH_NO_RECORD: '1' } as Record<string, string>
const HTTP_CALLS = opt('http-calls', 1000)
const IN_FLIGHT = 16
// --only stdio|http measures one half (while iterating)
const ONLY = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined
const WARMUP = 200

const require = createRequire(import.meta.url)
const EVERYTHING = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js')
const MCP_PROXY = resolve('node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs')
const SUPERGATEWAY = resolve('node_modules/supergateway/dist/index.js')
const node = process.execPath

type Call = (message: string) => Promise<string>

interface Target {
  name: string
  call: Call
  client: Client
  pid?: number
  close(): Promise<void>
}

interface Figures {
  p50: number
  p95: number
  rps: number
  /** CPU of the serving process tree (proxy + upstream) per call in the 16-in-flight phase, in ms */
  cpu: number
}

/** A process and its descendants (read once: the trees here are stable while measured). */
function processTree(root: number): number[] {
  const parent = new Map<number, number>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // the process ended meanwhile
    }
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid)
  return out
}

/** user+system CPU of the processes, in ms (clock ticks of 10 ms). */
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

async function measure(call: Call, calls: number, serverPid: number | undefined): Promise<Figures> {
  for (let i = 0; i < WARMUP; i++) await call(`w${i}`)
  const times: number[] = []
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now()
    const out = await call(`s${i}`)
    times.push(performance.now() - t0)
    if (out !== `Echo: s${i}`) throw new Error(`wrong answer: ${out.slice(0, 80)}`)
  }
  times.sort((a, b) => a - b)
  let next = 0
  const tree = serverPid ? processTree(serverPid) : []
  const c0 = cpuOf(tree)
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < calls * 2) {
        const i = next++
        const out = await call(`t${i}`)
        if (out !== `Echo: t${i}`) throw new Error(`wrong answer: ${out.slice(0, 80)}`)
      }
    }),
  )
  const rps = (calls * 2) / ((performance.now() - t0) / 1000)
  const cpu = (cpuOf(tree) - c0) / (calls * 2)
  return { p50: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]!, rps, cpu }
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

async function stdioTarget(name: string, command: string, args: string[], proxied: boolean, env?: Record<string, string>): Promise<Target> {
  const client = new Client({ name: 'bench', version: '1' })
  const transport = new StdioClientTransport({ command, args, stderr: 'ignore', env })
  await client.connect(transport)
  return { name, client, pid: transport.pid ?? undefined, call: callerFor(client, proxied), close: () => client.close() }
}

async function httpClient(url: string, proxied: boolean): Promise<{ client: Client; call: Call }> {
  const client = new Client({ name: 'bench', version: '1' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url)))
  return { client, call: callerFor(client, proxied) }
}

/**
 * A lean streamable-HTTP client (node:http keep-alive, JSON or SSE answers), the same for every
 * server: it costs far less CPU per call than the SDK client, so the servers' differences show.
 */
async function rawHttpClient(url: string, proxied: boolean): Promise<{ call: Call; close(): Promise<void> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT * 2 })
  const target = new URL(url)
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  let nextId = 1
  const post = (body: unknown): Promise<{ status: number; sid?: string; messages: Array<{ id?: unknown; result?: unknown; error?: { message?: string } }> }> =>
    new Promise((resolveP, reject) => {
      const data = JSON.stringify(body)
      const req = httpRequest(target, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(data)) } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const type = String(res.headers['content-type'] ?? '')
          const messages = !text
            ? []
            : type.startsWith('text/event-stream')
              ? text
                  .split('\n')
                  .filter((l) => l.startsWith('data:'))
                  .map((l) => JSON.parse(l.slice(5)))
              : [JSON.parse(text)].flat()
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
  proxied: boolean
  child: ChildProcess
}

async function startHttp(name: string, command: string, args: (port: number) => string[], path: string, proxied: boolean, env?: Record<string, string>): Promise<HttpServerProc> {
  const port = await freePort()
  const child = spawn(command, args(port), { stdio: ['ignore', 'ignore', 'ignore'], env: env ?? process.env })
  const url = `http://127.0.0.1:${port}${path}`
  await waitForHttp(url, child, name)
  return { name, url, proxied, child }
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

const f = (n: number, d = 0): string => n.toFixed(d)
const us = (ms: number): string => `${f(ms * 1000)} us`
const row = (cells: string[], widths: number[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')

async function main(): Promise<void> {
  process.removeAllListeners('warning') // the SDK's HTTP client adds an abort listener per request to one signal
  const dir = mkdtempSync(join(tmpdir(), 'bench-proxy-'))
  const entry = join(BUILD_DIR, 'proxy-entry.mjs')
  await build({ entryPoints: ['bench/proxy-entry.ts'], outfile: entry, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
  await build({ entryPoints: ['src/core/activity/writer-worker.ts'], outfile: WORKER_FILE, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
  writeFileSync(join(dir, 'mcp_config.json'), JSON.stringify({ mcpServers: { everything: { command: node, args: [EVERYTHING, 'stdio'], quarantined: false } } }))
  console.log(`proxy bench: server-everything echo, recording on (SQLite in ${dir}); ${CALLS} sequential + ${CALLS * 2} with ${IN_FLIGHT} in flight (stdio), ${HTTP_CALLS} + ${HTTP_CALLS * 2} (HTTP)`)

  const stdioResults: Array<{ name: string; fig: Figures }> = []
  const stdioTargets: Array<() => Promise<Target>> = [
    () => stdioTarget('direct (SDK client -> server)', node, [EVERYTHING, 'stdio'], false),
    () => stdioTarget('wrap', node, [entry, 'wrap', dir, '--', node, EVERYTHING, 'stdio'], false, RECORD_ENV),
    () => stdioTarget('stdio front end (call_tool)', node, [entry, 'stdio', dir], true, RECORD_ENV),
    ...(IN_THREAD
      ? [
          () => stdioTarget('wrap, writer in-thread', node, [entry, 'wrap', dir, '--', node, EVERYTHING, 'stdio'], false, IN_THREAD_ENV),
          () => stdioTarget('stdio front end, writer in-thread', node, [entry, 'stdio', dir], true, IN_THREAD_ENV),
        ]
      : []),
    ...(UNRECORDED
      ? [
          () => stdioTarget('wrap, recording off', node, [entry, 'wrap', dir, '--', node, EVERYTHING, 'stdio'], false, NO_RECORD_ENV),
          () => stdioTarget('stdio front end, recording off', node, [entry, 'stdio', dir], true, NO_RECORD_ENV),
        ]
      : []),
  ]
  for (const make of ONLY === 'http' ? stdioTargets.slice(0, 1) : stdioTargets) {
    const t = await make()
    stdioResults.push({ name: t.name, fig: await measure(t.call, CALLS, t.pid) })
    await t.close()
  }

  const httpResults: Array<{ name: string; fig: Figures; sdk: Figures; mib: string; cross: string }> = []
  const servers: Array<() => Promise<HttpServerProc>> = [
    () => startHttp('ours /mcp (call_tool)', node, (p) => [entry, 'http', dir, String(p)], '/mcp', true, RECORD_ENV),
    () =>
      startHttp('mcp-proxy (stream)', node, (p) => [MCP_PROXY, '--port', String(p), '--host', '127.0.0.1', '--server', 'stream', '--', node, EVERYTHING, 'stdio'], '/mcp', false),
    () =>
      startHttp(
        'supergateway (streamableHttp)',
        node,
        (p) => [SUPERGATEWAY, '--stdio', `${node} ${EVERYTHING} stdio`, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(p), '--logLevel', 'none'],
        '/mcp',
        false,
      ),
    ...(IN_THREAD ? [() => startHttp('ours /mcp, writer in-thread', node, (p) => [entry, 'http', dir, String(p)], '/mcp', true, IN_THREAD_ENV)] : []),
    ...(UNRECORDED ? [() => startHttp('ours /mcp, recording off', node, (p) => [entry, 'http', dir, String(p)], '/mcp', true, NO_RECORD_ENV)] : []),
  ]
  for (const start of ONLY === 'stdio' ? [] : servers) {
    const s = await start()
    try {
      const raw = await rawHttpClient(s.url, s.proxied)
      const fig = await measure(raw.call, HTTP_CALLS, s.child.pid)
      await raw.close()
      const a = await httpClient(s.url, s.proxied)
      const sdk = await measure(a.call, Math.round(HTTP_CALLS / 2), s.child.pid)
      const mib = await megabyte(a.call)
      const b = await httpClient(s.url, s.proxied)
      const cross = await crossTalk(a.call, b.call)
      httpResults.push({ name: s.name, fig, sdk, mib, cross })
      await a.client.close().catch(() => undefined)
      await b.client.close().catch(() => undefined)
    } catch (err) {
      const nan = { p50: NaN, p95: NaN, rps: NaN, cpu: NaN }
      httpResults.push({ name: s.name, fig: nan, sdk: nan, mib: 'n/a', cross: `FAIL (${(err as Error).message.slice(0, 60)})` })
    }
    await stop(s.child)
  }

  const direct = stdioResults[0]!.fig
  if (!httpResults.length) httpResults.push({ name: '(HTTP not measured)', fig: { p50: NaN, p95: NaN, rps: NaN, cpu: NaN }, sdk: { p50: NaN, p95: NaN, rps: NaN, cpu: NaN }, mib: 'n/a', cross: 'n/a' })
  console.log('\nstdio (ratios against direct; targets: p50 <= 1.6x, throughput >= 0.8x)')
  const w1 = [34, 10, 10, 14, 10, 12, 16, 12]
  console.log(row(['target', 'p50', 'p95', 'calls/s @16', 'p50 x', 'calls/s x', 'server CPU/call', 'CPU x'], w1))
  for (const r of stdioResults) {
    console.log(
      row([r.name, us(r.fig.p50), us(r.fig.p95), f(r.fig.rps), f(r.fig.p50 / direct.p50, 2), f(r.fig.rps / direct.rps, 2), us(r.fig.cpu), f(r.fig.cpu / direct.cpu, 2)], w1),
    )
  }

  const w2 = [32, 10, 10, 14, 16, 16, 18, 14]
  const header = ['target', 'p50', 'p95', 'calls/s @16', 'server CPU/call', 'our p50 / its', 'our calls/s / its', 'our CPU / its']
  const table = (title: string, pick: (r: (typeof httpResults)[number]) => Figures): void => {
    const ours = pick(httpResults[0]!)
    console.log(`\n${title}`)
    console.log(row(header, w2))
    for (const r of httpResults) {
      const fig = pick(r)
      const vs = r === httpResults[0] ? ['-', '-', '-'] : [f(ours.p50 / fig.p50, 2), f(ours.rps / fig.rps, 2), f(ours.cpu / fig.cpu, 2)]
      console.log(row([r.name, us(fig.p50), us(fig.p95), f(fig.rps), us(fig.cpu), ...vs], w2))
    }
  }
  console.log('\nHTTP streamable, ours against each peer (targets: our throughput >= 2x, our p50 <= 0.5x)')
  table(`lean keep-alive client (node:http), ${HTTP_CALLS} sequential + ${HTTP_CALLS * 2} with ${IN_FLIGHT} in flight`, (r) => r.fig)
  table(`SDK client (StreamableHTTPClientTransport), ${Math.round(HTTP_CALLS / 2)} sequential + ${HTTP_CALLS} with ${IN_FLIGHT} in flight`, (r) => r.sdk)
  console.log('')
  for (const r of httpResults) console.log(`${r.name.padEnd(32)}  1 MiB round trip: ${r.mib.split('\n')[0]}; two clients at once: ${r.cross}`)
  rmSync(dir, { recursive: true, force: true })
  rmSync(BUILD_DIR, { recursive: true, force: true })
}

await main()
process.exit(0)

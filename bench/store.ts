// Activity store benchmark: builds a database of BENCH_RECORDS (default 1,000,000) realistic
// records in a temp dir by importing a JSON Lines file, then measures the query services and
// export against raw better-sqlite3 baselines measured in the same run, and prints one table
// with the targets of the activity-store issue beside each figure (PASS/MISS).
//   npm run bench:store            BENCH_RECORDS=100000 npm run bench:store
//   BENCH_ONLY=import BENCH_RECORDS=100000 npm run bench:store   (import figures only)
import { spawn } from 'node:child_process'
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { build } from 'esbuild'
import { encodeTime } from 'ulid'
import type { ActivityFilter, ActivityRecord, ActivityStatus, ActivityType, FilterOptionField } from '../src/shared/activity'
import { ftsText } from '../src/core/activity/append'
import { CSV_COLUMNS, exportActivity } from '../src/core/activity/export'
import { importActivity } from '../src/core/activity/import'
import { wholeLines } from '../src/core/activity/import-lines'
import { createActivityQueries, ROW_COLUMNS } from '../src/core/activity/query'
import { createHeavyReads } from '../src/core/activity/read-offload'
import { toRows } from '../src/core/activity/record-codec'
import { silentLogger } from '../src/core/logger'
import { openDb } from '../src/core/store/db'

const RUNS = 30
const WARMUP = 3
const DAY = 86_400_000

// ---------------------------------------------------------------- child: export with its own RSS
if (process.argv[2] === '--export-child') {
  const [, , , dbFile, mode, outFile] = process.argv
  const started = performance.now()
  let rows = 0
  let peak = process.memoryUsage.rss()
  const fd = openSync(outFile!, 'w')
  if (mode === 'raw') {
    const db = new Database(dbFile!, { readonly: true })
    const stmt = db.prepare(
      `SELECT a.*, b.arguments, b.response FROM activity a LEFT JOIN activity_body b ON b.rid = a.rid ORDER BY a.id`,
    )
    let buf: string[] = []
    for (const row of stmt.iterate()) {
      buf.push(JSON.stringify(row))
      rows++
      if (buf.length === 1000) {
        writeSync(fd, buf.join('\n') + '\n')
        buf = []
        peak = Math.max(peak, process.memoryUsage.rss())
      }
    }
    writeSync(fd, buf.join('\n'))
    db.close()
  } else {
    const db = openDb(dbFile!)
    const format = mode === 'csv' ? 'csv' : 'json'
    for await (const chunk of exportActivity(db, {}, { format, includeBodies: format === 'json' })) {
      writeSync(fd, chunk)
      peak = Math.max(peak, process.memoryUsage.rss())
    }
    rows = createActivityQueries(db).count({})
    db.close()
  }
  closeSync(fd)
  process.stdout.write(JSON.stringify({ rows, ms: performance.now() - started, peakRss: peak }) + '\n')
  process.exit(0)
}

// ---------------------------------------------------------------- realistic records
const N = Number(process.env.BENCH_RECORDS ?? 1_000_000)
const SERVERS = [
  'github', 'gitlab', 'filesystem', 'postgres', 'slack', 'jira', 'linear', 'notion', 'stripe', 'sentry',
  'browser', 'memory', 'fetch', 'docker', 'kubernetes', 'aws', 'gcp', 'figma', 'calendar', 'gmail',
]
const VERBS = ['search', 'get', 'list', 'create', 'update', 'delete', 'read', 'write', 'run', 'query']
const NOUNS = ['issues', 'files', 'rows', 'messages', 'pages', 'events', 'items', 'records', 'objects', 'users']
const TOOLS = SERVERS.map((_, s) => VERBS.map((v, i) => `${v}_${NOUNS[(s + i) % NOUNS.length]}`))
const WORDS = (
  'invoice budget quarterly report customer refund migration schema deploy rollback cluster staging production ' +
  'latency incident outage ticket sprint backlog release changelog pricing contract renewal onboarding audit ' +
  'compliance security token rotation credential database index vacuum replica backup restore snapshot archive ' +
  'analytics dashboard metrics alert pager escalation meeting agenda summary roadmap feature request bug crash ' +
  'memory leak timeout retry queue worker scheduler cron pipeline build artifact container image registry'
).split(' ')
const ERRORS = ['connection reset by peer', 'rate limit exceeded', 'permission denied', 'not found', 'upstream returned 502']
const CLIENTS = ['Claude Desktop', 'Cursor', 'VS Code', 'Windsurf']
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

let seed = 42
const rand = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
  return seed / 0x80000000
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
const words = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(' ')
const fastUlid = (ms: number): string => {
  let r = ''
  for (let i = 0; i < 16; i++) r += CROCKFORD[Math.floor(rand() * 32)]
  return encodeTime(ms) + r
}

function makeRecord(i: number, ms: number, session: string): ActivityRecord {
  const s = Math.floor(rand() * SERVERS.length)
  const server = SERVERS[s]!
  const tool = pick(TOOLS[s]!)
  const roll = rand()
  const type: ActivityType =
    roll < 0.9 ? 'tool_call' : roll < 0.95 ? 'policy_decision' : roll < 0.97 ? 'tool_change' : roll < 0.985 ? 'server_change' : roll < 0.995 ? 'quarantine_change' : 'config_change'
  const sr = rand()
  const status: ActivityStatus =
    type !== 'tool_call' ? (type === 'policy_decision' ? 'blocked' : 'success')
      : sr < 0.85 ? 'success' : sr < 0.93 ? 'error' : sr < 0.96 ? 'blocked' : sr < 0.998 ? 'timeout' : 'pending'
  const r: ActivityRecord = {
    id: fastUlid(ms),
    type,
    timestamp: new Date(ms).toISOString(),
    session_id: session,
    request_id: String(i),
    server_name: server,
    status,
    client: { name: CLIENTS[i % CLIENTS.length]!, version: '1.4.2' },
  }
  if (type === 'tool_call' || type === 'policy_decision' || type === 'tool_change') r.tool_name = tool
  if (type === 'tool_call') {
    r.arguments = { path: `/home/user/project/${pick(WORDS)}/${pick(WORDS)}-${i % 997}.md`, query: words(3) }
    if (status !== 'pending' && status !== 'blocked') {
      r.response = { content: [{ type: 'text', text: words(12) }] }
      r.duration_ms = Math.round(Math.exp(3 + rand() * 4))
      r.request_bytes = 90
      r.response_bytes = 120
    }
    if (status === 'error') r.error = pick(ERRORS)
    if (status === 'timeout') r.error = 'timed out after 120000 ms'
    if (rand() < 0.6) {
      const o = rand()
      r.intent = { operation_type: o < 0.7 ? 'read' : o < 0.95 ? 'write' : 'destructive' }
      if (rand() < 0.3) r.intent.reason = words(6)
    }
    if (rand() < 0.02) r.detection_types = [pick(['github_token', 'aws_access_key', 'jwt', 'bearer_token'])]
    if (rand() < 0.01) r.pii_detected = ['email']
  }
  if (type === 'policy_decision') r.policy = { decision: 'deny', rule: 'no-destructive', reason: 'destructive tool' }
  return r
}

/** Writes N records spread over the 30 days before `end`, oldest first, as JSON Lines. */
function writeJsonl(file: string, end: number): void {
  const fd = openSync(file, 'w')
  const start = end - 30 * DAY
  const step = (30 * DAY) / N
  let session = 'session-0'
  let buf: string[] = []
  for (let i = 0; i < N; i++) {
    if (i % 200 === 0) session = `session-${Math.floor(i / 200)}`
    buf.push(JSON.stringify(makeRecord(i, Math.floor(start + i * step), session)))
    if (buf.length === 5000) {
      writeSync(fd, buf.join('\n') + '\n')
      buf = []
    }
  }
  if (buf.length) writeSync(fd, buf.join('\n') + '\n')
  closeSync(fd)
}

/** Bundles a worker entry as scripts/build-cli.mjs does, into .tmp/ (so its packages resolve). */
async function buildWorker(entry: string, name: string): Promise<string> {
  const outfile = join(process.cwd(), '.tmp', `bench-${name}-worker-${process.pid}.mjs`)
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
  return outfile
}

/** How long `work` took, and the longest this thread's event loop went without a turn meanwhile. */
async function stallDuring(work: () => Promise<unknown>): Promise<{ ms: number; stall: number }> {
  let last = performance.now()
  let worst = 0
  const timer = setInterval(() => {
    const t = performance.now()
    worst = Math.max(worst, t - last)
    last = t
  }, 1)
  const started = performance.now()
  await work()
  const ms = performance.now() - started
  clearInterval(timer)
  return { ms, stall: Math.max(worst, performance.now() - last) }
}

/**
 * CPU time (ms) of each of this process's threads so far, by thread id (Linux /proc; empty
 * elsewhere): splits import's CPU between the inserting main thread and the parsing worker.
 */
function threadCpu(): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>()
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // the name is in parentheses and may hold spaces: the fields after it are space-separated
      const close = stat.lastIndexOf(')')
      const fields = stat.slice(close + 2).split(' ')
      // utime and stime (fields 14 and 15 of the line, 12 and 13 after the name) in clock ticks (1/100 s)
      out.set(Number(tid), { name: stat.slice(stat.indexOf('(') + 1, close), ms: (Number(fields[11]) + Number(fields[12])) * 10 })
    }
  } catch {
    // not Linux
  }
  return out
}

/** The threads that used at least 1% of `total` ms between two threadCpu() readings, main thread first. */
function threadCpuDelta(before: Map<number, { name: string; ms: number }>, after: Map<number, { name: string; ms: number }>, n: number): string {
  const rows = [...after].map(([tid, t]) => ({ tid, name: t.name, ms: t.ms - (before.get(tid)?.ms ?? 0) }))
  const total = rows.reduce((s, r) => s + r.ms, 0)
  return rows
    .filter((r) => r.ms >= total / 100)
    .sort((a, b) => (a.tid === process.pid ? -1 : b.tid === process.pid ? 1 : b.ms - a.ms))
    .map((r) => `${r.tid === process.pid ? 'main' : `${r.name} ${r.tid}`} ${fmt((r.ms * 1000) / n)}`)
    .join(', ')
}

const lines = (file: string): AsyncIterable<string> => createInterface({ input: createReadStream(file), crlfDelay: Infinity })

// ---------------------------------------------------------------- measuring
interface Row {
  name: string
  ours: string
  base: string
  ratio: string
  target: string
  verdict: string
}
const rows: Row[] = []
const fmt = (x: number, digits = 1): string => x.toFixed(digits)
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.ceil(s.length * p) - 1)]!
}

function timeRuns(run: (i: number) => unknown): number[] {
  for (let i = 0; i < WARMUP; i++) run(i)
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now()
    run(i + WARMUP)
    times.push(performance.now() - t)
  }
  return times
}

function latencyRow(name: string, ours: number[], base: number[] | null, targetMs: number | null): void {
  const p95 = pct(ours, 0.95)
  const b95 = base ? pct(base, 0.95) : null
  rows.push({
    name,
    ours: `p50 ${fmt(pct(ours, 0.5), 2)} / p95 ${fmt(p95, 2)} ms`,
    base: b95 === null ? '' : `p50 ${fmt(pct(base!, 0.5), 2)} / p95 ${fmt(b95, 2)} ms`,
    ratio: b95 === null ? '' : `${fmt(p95 / b95, 2)}x`,
    target: targetMs === null ? '' : `p95 <= ${targetMs} ms`,
    verdict: targetMs === null ? '' : p95 <= targetMs ? 'PASS' : `MISS (+${fmt(p95 - targetMs)} ms)`,
  })
}

function runChild(dbFile: string, mode: string, out: string): Promise<{ rows: number; ms: number; peakRss: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [process.argv[1]!, '--export-child', dbFile, mode, out], { stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    child.stdout.on('data', (d: Buffer) => (text += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`export child exited with ${code}`))))
  })
}

async function main(): Promise<void> {
  // BENCH_KEEP_DIR=path builds in (and leaves) that directory, to poke at the database afterwards.
  const keep = process.env.BENCH_KEEP_DIR
  const dir = keep ? (mkdirSync(keep, { recursive: true }), keep) : mkdtempSync(join(tmpdir(), 'bench-store-'))
  const say = (msg: string): void => void process.stderr.write(`[bench:store] ${msg}\n`)
  try {
    const end = Date.now()
    const file = join(dir, 'activity.jsonl')
    say(`generating ${N} records`)
    writeJsonl(file, end)
    say(`JSON Lines file: ${fmt(statSync(file).size / 1e6)} MB`)

    // Import through the store (validation, chain, body, full-text) against raw inserts of the same rows.
    const dbFile = join(dir, 'activity.db')
    const db = openDb(dbFile)
    // the import worker as scripts/build-cli.mjs builds it (BENCH_IMPORT_WORKER=0: parse on the main thread)
    const useWorker = process.env.BENCH_IMPORT_WORKER !== '0'
    const workerFile = useWorker ? await buildWorker('src/core/activity/import-worker.ts', 'import') : ''
    say(`importing${useWorker ? ' (parsing on a worker thread)' : ''}`)
    let t = performance.now()
    const cpu0 = process.cpuUsage()
    const threads0 = threadCpu()
    // the worker ends with the import: its time is the last reading taken while it ran (the
    // main thread reads between chunks, after the worker has parsed what it was given)
    const threadsSeen = new Map(threads0)
    const poll = setInterval(() => {
      for (const [tid, cpu] of threadCpu()) threadsSeen.set(tid, cpu)
    }, 50)
    // the file read as `mcpproxy activity import` reads it: items of whole lines
    const result = await importActivity(db, wholeLines(createReadStream(file)), undefined, useWorker ? { workerUrl: pathToFileURL(workerFile) } : {})
    const importCpu = process.cpuUsage(cpu0)
    clearInterval(poll)
    for (const [tid, cpu] of threadCpu()) threadsSeen.set(tid, cpu)
    const importThreads = threadCpuDelta(threads0, threadsSeen, N)
    if (workerFile) rmSync(workerFile, { force: true })
    const importMs = performance.now() - t
    if (result.imported !== N || result.errors.length) throw new Error(`import: ${JSON.stringify(result).slice(0, 300)}`)

    say('raw baseline insert')
    const raw = openDb(join(dir, 'raw.db'))
    raw.pragma('cache_size = -65536')
    const insA = raw.prepare(
      `INSERT INTO activity (${ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const insB = raw.prepare('INSERT INTO activity_body (rid, arguments, response) VALUES (?, ?, ?)')
    const insF = raw.prepare('INSERT INTO activity_fts (rowid, body) VALUES (?, ?)')
    t = performance.now()
    const rawCpu0 = process.cpuUsage()
    let batch: ActivityRecord[] = []
    const flush = raw.transaction((records: ActivityRecord[]) => {
      for (const r of records) {
        const { row, body } = toRows(r, null)
        const rid = insA.run(...Object.values(row)).lastInsertRowid
        insB.run(rid, body.arguments, body.response)
        insF.run(rid, ftsText(r, body))
      }
    })
    for await (const line of lines(file)) {
      batch.push(JSON.parse(line) as ActivityRecord)
      if (batch.length === 5000) {
        flush(batch)
        batch = []
      }
    }
    flush(batch)
    const rawMs = performance.now() - t
    const rawCpu = process.cpuUsage(rawCpu0)
    raw.close()
    // the machine is shared: CPU time per record says more than wall time when others are busy
    const cpuUs = (c: NodeJS.CpuUsage): string => fmt((c.user + c.system) / N)
    say(`import: ${fmt((importMs * 1000) / N)} us/rec wall, ${cpuUs(importCpu)} us/rec CPU (all threads); raw: ${fmt((rawMs * 1000) / N)} us/rec wall, ${cpuUs(rawCpu)} us/rec CPU`)
    if (importThreads) say(`import CPU by thread (us/rec): ${importThreads}`)
    const ours = (N / importMs) * 1000
    const base = (N / rawMs) * 1000
    rows.push({
      name: `import ${N} records`,
      ours: `${Math.round(ours)} rec/s`,
      base: `${Math.round(base)} rec/s`,
      ratio: `${fmt(ours / base, 2)}x`,
      target: '>= 50000 rec/s',
      verdict: ours >= 50_000 ? 'PASS' : `MISS (-${fmt(100 - (ours / 50_000) * 100)}%)`,
    })
    say(`database: ${fmt(statSync(dbFile).size / 1e6)} MB`)
    // BENCH_ONLY=import stops here (for iterating on the import path).
    measures: {
    if (process.env.BENCH_ONLY === 'import') {
      db.close()
      break measures
    }

    // First page of the list, unfiltered and under each single filter, with varied values.
    const q = createActivityQueries(db)
    const page = { limit: 50, offset: 0 }
    const rawPage = (where: string): Database.Statement =>
      db.prepare(`SELECT ${ROW_COLUMNS} FROM activity ${where} ORDER BY id DESC LIMIT 50`)
    const iso = (ms: number): string => new Date(ms).toISOString()
    const hourStart = (i: number): number => end - ((i * 7919) % (29 * 24)) * 3_600_000 - 3_600_000
    const sampleSessions = db.prepare('SELECT value FROM activity_count WHERE field = ? ORDER BY value LIMIT 40').pluck().all('session_id') as string[]
    const allTools = TOOLS.flat()
    const types: ActivityType[] = ['tool_call', 'policy_decision', 'tool_change', 'server_change', 'quarantine_change']
    const statuses: ActivityStatus[] = ['success', 'error', 'blocked', 'timeout']
    const qs = [...allTools.slice(0, 10), 'invoice', 'quarterly report', 'rollback', 'rate limit', 'migration schema', 'permission']
    const cases: Array<{ name: string; filter: (i: number) => ActivityFilter; raw: (i: number) => unknown }> = [
      { name: 'unfiltered', filter: () => ({}), raw: () => rawPage('').all() },
      { name: 'type', filter: (i) => ({ type: [types[i % types.length]!] }), raw: (i) => rawPage('WHERE type = ?').all(types[i % types.length]) },
      { name: 'server', filter: (i) => ({ server: SERVERS[i % 20]! }), raw: (i) => rawPage('WHERE server_name = ?').all(SERVERS[i % 20]) },
      { name: 'tool', filter: (i) => ({ tool: allTools[(i * 37) % allTools.length]! }), raw: (i) => rawPage('WHERE tool_name = ?').all(allTools[(i * 37) % allTools.length]) },
      { name: 'session', filter: (i) => ({ session_id: sampleSessions[i % sampleSessions.length]! }), raw: (i) => rawPage('WHERE session_id = ?').all(sampleSessions[i % sampleSessions.length]) },
      { name: 'status', filter: (i) => ({ status: [statuses[i % 4]!] }), raw: (i) => rawPage('WHERE status = ?').all(statuses[i % 4]) },
      {
        name: 'time range (1 h)',
        filter: (i) => ({ start_time: iso(hourStart(i)), end_time: iso(hourStart(i) + 3_600_000) }),
        raw: (i) => rawPage('WHERE ts >= ? AND ts <= ?').all(hourStart(i), hourStart(i) + 3_600_000),
      },
      { name: 'intent', filter: (i) => ({ intent_type: (['read', 'write', 'destructive'] as const)[i % 3] }), raw: (i) => rawPage('WHERE intent_type = ?').all(['read', 'write', 'destructive'][i % 3]) },
      { name: 'sensitive', filter: () => ({ sensitive: true }), raw: () => rawPage('WHERE sensitive = 1').all() },
      {
        name: 'q (full text)',
        filter: (i) => ({ q: qs[i % qs.length]! }),
        raw: (i) => rawPage('WHERE rid IN (SELECT rowid FROM activity_fts WHERE activity_fts MATCH ?)').all(`"${qs[i % qs.length]!.split(' ').join('" "')}"`),
      },
    ]
    say('list pages')
    for (const c of cases) {
      const oursT = timeRuns((i) => q.list(c.filter(i), page))
      const baseT = timeRuns((i) => c.raw(i))
      latencyRow(`first page: ${c.name}`, oursT, baseT, 10)
    }
    latencyRow(
      'first page: status error,timeout',
      timeRuns(() => q.list({ status: ['error', 'timeout'] }, page)),
      timeRuns(() => rawPage('WHERE status IN (?, ?)').all('error', 'timeout')),
      null,
    )
    const cursorPage = q.list({}, { limit: 50, offset: 0 })
    latencyRow(
      'next page by cursor',
      timeRuns(() => q.list({}, { limit: 50, offset: 0, cursor: cursorPage.next_cursor })),
      timeRuns(() => rawPage('WHERE id < ?').all(cursorPage.activities[49]!.id)),
      null,
    )

    say('filter options, summary, metrics')
    for (const field of ['server_name', 'tool_name', 'status', 'type', 'session_id'] as FilterOptionField[]) {
      latencyRow(
        `filter-options ${field}`,
        timeRuns(() => q.filterOptions(field)),
        timeRuns(() => db.prepare(`SELECT ${field} AS value, count(*) AS count FROM activity GROUP BY ${field}`).all()),
        50,
      )
    }
    latencyRow(
      'filter-options tool_name, server filter',
      timeRuns((i) => q.filterOptions('tool_name', { server: SERVERS[i % 20]! })),
      timeRuns((i) => db.prepare('SELECT tool_name, count(*) FROM activity WHERE server_name = ? GROUP BY tool_name').all(SERVERS[i % 20])),
      null,
    )
    const summaryEnd = (i: number): Date => new Date(end - (i % 5) * DAY)
    latencyRow(
      'summary 24h',
      timeRuns((i) => q.summary('24h', summaryEnd(i))),
      timeRuns((i) =>
        db
          .prepare('SELECT type, status, server_name, tool_name, count(*) FROM activity WHERE ts >= ? AND ts <= ? GROUP BY 1, 2, 3, 4')
          .all(summaryEnd(i).getTime() - DAY, summaryEnd(i).getTime()),
      ),
      100,
    )
    const one = (fn: () => unknown): number[] => {
      const t0 = performance.now()
      fn()
      return [performance.now() - t0]
    }
    latencyRow('metrics 7 days (1 run)', one(() => q.metrics(7, undefined, new Date(end))), null, null)
    latencyRow('get by id', timeRuns(() => q.get(cursorPage.activities[7]!.id)), null, null)

    // The reads that take long on a large log, as the core runs them: on its read worker, while
    // its own event loop (MCP calls, REST, the tray) goes on, against the same read on that thread.
    say('heavy reads: read worker against the core thread')
    const readWorker = await buildWorker('src/core/activity/read-worker.ts', 'read')
    const onThread = createHeavyReads(db, q, { file: dbFile, logger: silentLogger })
    const offThread = createHeavyReads(db, q, { file: dbFile, logger: silentLogger, workerUrl: pathToFileURL(readWorker) })
    await offThread.verify() // starts the worker (and warms its page cache as the inline runs warm theirs)
    const heavyCases: Array<[string, (h: typeof onThread) => Promise<unknown>]> = [
      ['verify (whole chain)', (h) => h.verify()],
      ['metrics 30 days', (h) => h.metrics(30, undefined, new Date(end))],
      ['summary 30d', (h) => h.summary('30d', new Date(end))],
    ]
    for (const [name, read] of heavyCases) {
      const inline = await stallDuring(() => read(onThread))
      const worker = await stallDuring(() => read(offThread))
      rows.push({
        name: `${name}: longest stall of the core thread`,
        ours: `${fmt(worker.stall, 1)} ms (read worker, done in ${fmt(worker.ms / 1000, 2)} s)`,
        base: `${fmt(inline.stall, 1)} ms (on the core thread, ${fmt(inline.ms / 1000, 2)} s)`,
        ratio: `${fmt(worker.stall / inline.stall, 4)}x`,
        target: '',
        verdict: '',
      })
    }
    await offThread.close()
    rmSync(readWorker, { force: true })
    db.close()

    // Export in child processes so that each peak RSS is the exporter's own.
    say('export')
    const rawOut = join(dir, 'export.raw')
    const rawR = await runChild(dbFile, 'raw', rawOut)
    rmSync(rawOut, { force: true })
    for (const [mode, label] of [
      ['json', 'export JSON Lines with bodies'],
      ['csv', `export CSV (${CSV_COLUMNS.length} columns, no bodies)`],
    ] as const) {
      const out = join(dir, `export.${mode}`)
      const oursR = await runChild(dbFile, mode, out)
      rmSync(out, { force: true })
      const oursRate = (oursR.rows / oursR.ms) * 1000
      const rawRate = (rawR.rows / rawR.ms) * 1000
      const rssMb = oursR.peakRss / 1e6
      const ok = oursRate >= 100_000 && rssMb < 200
      rows.push({
        name: label,
        ours: `${Math.round(oursRate)} rows/s, peak RSS ${fmt(rssMb)} MB`,
        base: `${Math.round(rawRate)} rows/s, peak RSS ${fmt(rawR.peakRss / 1e6)} MB`,
        ratio: `${fmt(oursRate / rawRate, 2)}x`,
        target: '>= 100000 rows/s, RSS < 200 MB',
        verdict: ok ? 'PASS' : `MISS (${oursRate < 100_000 ? `-${fmt(100 - oursRate / 1000)}% rate` : ''}${rssMb >= 200 ? ` RSS +${fmt(rssMb - 200)} MB` : ''})`,
      })
    }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true })
  }

  const cols: Array<keyof Row> = ['name', 'ours', 'base', 'ratio', 'target', 'verdict']
  const head: Row = { name: 'measure', ours: 'mcpproxy store', base: 'raw better-sqlite3', ratio: 'ratio', target: 'target', verdict: '' }
  const widths = cols.map((c) => Math.max(...[head, ...rows].map((r) => r[c].length)))
  const line = (r: Row): string => cols.map((c, i) => r[c].padEnd(widths[i]!)).join(' | ')
  console.log(`\nActivity store, ${N} records, ${RUNS} runs per latency (after ${WARMUP} warm-up), Node ${process.version}`)
  console.log(line(head))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const r of rows) console.log(line(r))
}

await main()

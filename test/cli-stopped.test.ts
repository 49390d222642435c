// The built `mcpproxy` against a data dir with no core running: read commands open the
// database read-only, write commands edit the config or say they need a core.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createActivityStore } from '../src/core/activity/store'
import type { ActivityInput, ActivityPage, ActivityRecord, ActivitySummaryInfo } from '../src/shared/activity'
import { baseEnv, buildCli, exited, run, start } from './cli-helpers'

let dir: string
let dataDir: string
const ids: string[] = []
const now = Date.now()

function at(minutesAgo: number): string {
  return new Date(now - minutesAgo * 60_000).toISOString()
}

beforeAll(async () => {
  await buildCli()
  dir = mkdtempSync(join(tmpdir(), 'mcpproxy-cli-stopped-'))
  dataDir = join(dir, 'data')
  const cli = (args: string[]) => run(['--data-dir', dataDir, ...args])
  // a config as a first run writes it
  expect((await cli(['servers', 'add', 'memory', '--', 'node', 'memory.js'])).code).toBe(0)
  const store = createActivityStore({ file: join(dataDir, 'activity.db') })
  const inputs: ActivityInput[] = []
  for (let i = 0; i < 20; i++) {
    inputs.push({
      timestamp: at(40 - i),
      type: 'tool_call',
      server_name: 'github',
      tool_name: 'search_code',
      session_id: 'sess-1',
      status: 'success',
      duration_ms: 200 + i,
      arguments: { query: `function handleError ${i}`, repo: 'myorg/myrepo' },
      response: { content: [{ type: 'text', text: JSON.stringify({ matches: i }) }] },
      intent: { operation_type: 'read' },
    })
  }
  for (let i = 0; i < 5; i++) {
    inputs.push({ timestamp: at(15 - i), type: 'tool_call', server_name: 'filesystem', tool_name: 'read_file', status: 'error', error: 'ENOENT: no such file', duration_ms: 3, arguments: { path: `/tmp/x${i}` } })
  }
  for (let i = 0; i < 3; i++) {
    inputs.push({
      timestamp: at(8 - i),
      type: 'policy_decision',
      server_name: 'github',
      tool_name: 'delete_repo',
      status: 'blocked',
      policy: { decision: 'deny', rule: 'no-deletes', reason: 'destructive=deny' },
      intent: { operation_type: 'destructive', reason: 'cleanup' },
    })
  }
  for (const input of inputs) ids.push(store.record(input))
  await store.flush()
  await store.close()
}, 120_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function waitUntil(check: () => boolean, ms = 20_000): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

const cli = (args: string[], env?: NodeJS.ProcessEnv) => run(['--data-dir', dataDir, ...args], { env })

describe('mcpproxy with no core running', () => {
  it('activity list --json pages the local database, newest first, with filters', async () => {
    const all = await cli(['activity', 'list', '--json', '--limit', '10'])
    expect(all.code).toBe(0)
    const page = JSON.parse(all.stdout) as ActivityPage
    expect(page.total).toBe(28)
    expect(page.activities).toHaveLength(10)
    expect(page.activities[0]!.type).toBe('policy_decision')
    const errors = JSON.parse((await cli(['activity', 'list', '--json', '--server', 'filesystem', '--status', 'error'])).stdout) as ActivityPage
    expect(errors.total).toBe(5)
    expect(errors.activities.every((a) => a.server_name === 'filesystem' && a.status === 'error')).toBe(true)
    const destructive = JSON.parse((await cli(['activity', 'list', '--json', '--intent-type', 'destructive'])).stdout) as ActivityPage
    expect(destructive.total).toBe(3)
    const searched = JSON.parse((await cli(['activity', 'list', '--json', '--q', 'ENOENT'])).stdout) as ActivityPage
    expect(searched.total).toBe(5)
  })

  it('activity list prints the RFC table, with INTENT under --show-intent', async () => {
    const r = await cli(['activity', 'list', '--limit', '5', '--show-intent'])
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toMatch(/^ID\s+TIME\s+TYPE\s+SERVER\s+DETAILS\s+INTENT\s+STATUS\s+DURATION$/)
    // the newest record is 6 minutes old: the clock alone when that is still today, else date and
    // clock (a run just after midnight)
    const today = new Date(at(6)).toDateString() === new Date().toDateString()
    const when = today ? '\\d\\d:\\d\\d:\\d\\d' : '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d'
    // ID: the last 8 characters, where ULIDs of the same millisecond (or minute) differ
    expect(lines[1]).toMatch(new RegExp(`^${ids[27]!.slice(-8)}\\s+${when}\\s+policy\\s+github\\s+delete_repo BLOCKED\\s+⚠️ +destructive\\s+blocked$`))
    expect(r.stdout).toMatch(/1-5 of 28; next page: --cursor \S+/)
  })

  it('bad flags are usage errors (exit 2) naming the flag; unknown commands too', async () => {
    const limit = await cli(['activity', 'list', '--limit', '500'])
    expect(limit.code).toBe(2)
    expect(limit.stderr).toMatch(/--limit: must be <= 100|--limit: .*100/)
    const type = await cli(['activity', 'list', '--type', 'nonsense'])
    expect(type.code).toBe(2)
    expect(type.stderr).toMatch(/--type/)
    const unknown = await cli(['activity', 'frobnicate'])
    expect(unknown.code).toBe(2)
    const period = await cli(['activity', 'summary', '--period', '2y'])
    expect(period.code).toBe(2)
    expect(period.stderr).toMatch(/2y/)
    const time = await cli(['activity', 'list', '--start-time', 'yesterday'])
    expect(time.code).toBe(2)
    // both forms --help offers
    expect(time.stderr).toMatch(/--start-time: .*RFC 3339.*30m, 2h, 7d/)
  })

  it('activity show prints the detail layout, and exits 1 for an unknown id', async () => {
    const id = ids[19]!
    const r = await cli(['activity', 'show', id])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Activity: ${id}`)
    expect(r.stdout).toMatch(/Tool:\s+search_code/)
    expect(r.stdout).toContain('Arguments:\n  query: "function handleError 19"\n  repo: "myorg/myrepo"')
    expect(r.stdout).toContain('Response:\n  matches: 19')
    const json = JSON.parse((await cli(['activity', 'show', id, '--json'])).stdout) as ActivityRecord
    expect(json.arguments).toEqual({ query: 'function handleError 19', repo: 'myorg/myrepo' })
    const missing = await cli(['activity', 'show', 'NOPE'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/no activity record NOPE/)
  })

  it('activity show takes the short id activity list prints, or any unique prefix or suffix; an ambiguous one lists the candidates', async () => {
    const id = ids[27]!
    const table = await cli(['activity', 'list', '--limit', '1'])
    const short = table.stdout.split('\n')[1]!.split(/\s+/)[0]!
    expect(id.endsWith(short)).toBe(true)
    const bySuffix = await cli(['activity', 'show', short])
    expect(bySuffix.code).toBe(0)
    expect(bySuffix.stdout).toContain(`Activity: ${id}`)
    const byPrefix = await cli(['activity', 'show', id.slice(0, 20).toLowerCase(), '--json'])
    expect(byPrefix.code).toBe(0)
    expect((JSON.parse(byPrefix.stdout) as ActivityRecord).id).toBe(id)
    // ids[0] and ids[1] were made a minute apart: they share the start of their time part
    let common = 0
    while (ids[0]![common] === ids[1]![common]) common++
    const ambiguous = await cli(['activity', 'show', ids[0]!.slice(0, common)])
    expect(ambiguous.code).toBe(1)
    expect(ambiguous.stderr).toMatch(/ambiguous/)
    expect(ambiguous.stderr).toContain(ids[0]!)
    expect(ambiguous.stderr).toContain(ids[1]!)
    const none = await cli(['activity', 'show', 'ZZZZZZZZ'])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no activity record ZZZZZZZZ/)
  })

  it('activity summary reports totals and the top tools', async () => {
    const r = await cli(['activity', 'summary', '--period', '24h', '--json'])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout) as ActivitySummaryInfo
    expect(s.total).toBe(28)
    expect(s.by_status.error).toBe(5)
    expect(s.top_tools[0]).toMatchObject({ server: 'github', tool: 'search_code', count: 20 })
    const human = await cli(['activity', 'summary'])
    expect(human.stdout).toMatch(/github:search_code\s+20/)
    // the rate counts tool calls only (5 of 25), not the 3 blocked policy decisions
    expect(human.stdout).toMatch(/Error rate \(tool calls\):\s+20\.0%/)
  })

  it('activity export writes CSV and JSON Lines files honouring the filters', async () => {
    const csv = join(dir, 'out.csv')
    const r = await cli(['activity', 'export', '--format', 'csv', '--output', csv, '--server', 'github'])
    expect(r.code).toBe(0)
    const lines = readFileSync(csv, 'utf8').trim().split('\n')
    expect(lines[0]).toMatch(/^id,/)
    expect(lines).toHaveLength(24)
    expect(r.stderr).toMatch(/exported 23 records/)
    const jsonl = join(dir, 'out.jsonl')
    expect((await cli(['activity', 'export', '--output', jsonl, '--include-bodies'])).code).toBe(0)
    const records = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ActivityRecord)
    expect(records).toHaveLength(28)
    expect(records.find((x) => x.id === ids[0])?.arguments).toEqual({ query: 'function handleError 0', repo: 'myorg/myrepo' })
    const nowhere = await cli(['activity', 'export', '--output', join(dir, 'missing-dir', 'x.csv')])
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toMatch(/cannot write .*x\.csv: its directory does not exist/)
    const toStdout = await cli(['activity', 'export', '--type', 'policy_decision'])
    expect(toStdout.stdout.trim().split('\n')).toHaveLength(3)
  })

  it('activity import reads an export into another data dir, idempotently', async () => {
    const jsonl = join(dir, 'import.jsonl')
    expect((await cli(['activity', 'export', '--output', jsonl, '--include-bodies'])).code).toBe(0)
    const other = join(dir, 'other')
    const first = await run(['--data-dir', other, 'activity', 'import', jsonl, '--json'])
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ read: 28, imported: 28, skipped_existing: 0 })
    const again = await run(['--data-dir', other, 'activity', 'import', jsonl, '--json'])
    expect(JSON.parse(again.stdout)).toMatchObject({ imported: 0, skipped_existing: 28 })
    const shown = JSON.parse((await run(['--data-dir', other, 'activity', 'show', ids[3]!, '--json'])).stdout) as ActivityRecord
    expect(shown.arguments).toEqual({ query: 'function handleError 3', repo: 'myorg/myrepo' })
    const missing = await cli(['activity', 'import', join(dir, 'absent.jsonl')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/no such file/)
  })

  it('activity report writes one self-contained HTML file for the filtered records', async () => {
    const html = join(dir, 'report.html')
    const r = await cli(['activity', 'report', '--output', html, '--server', 'filesystem', '--title', 'Audit of filesystem'])
    expect(r.code).toBe(0)
    const text = readFileSync(html, 'utf8')
    expect(text).toMatch(/^<!doctype html>/i)
    expect(text).toContain('Audit of filesystem')
    expect(text).toContain('read_file')
    expect(text).not.toContain('search_code')
    expect(text).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/i)
  })

  it('activity watch with no core follows the database and prints records another process appends', async () => {
    const watchDir = join(dir, 'watched')
    const file = join(watchDir, 'activity.db')
    ;(await import('node:fs')).mkdirSync(watchDir)
    const first = createActivityStore({ file, retention: false })
    first.record({ type: 'tool_call', server_name: 'watched', tool_name: 'before_watch', status: 'success' })
    await first.close()
    const watch = start(['--data-dir', watchDir, 'activity', 'watch', '--server', 'watched'])
    try {
      await waitUntil(() => /following/.test(watch.err()))
      const store = createActivityStore({ file, retention: false })
      store.record({ type: 'tool_call', server_name: 'other', tool_name: 'skip_me', status: 'success', duration_ms: 1 })
      store.record({ type: 'tool_call', server_name: 'watched', tool_name: 'get_file', status: 'success', duration_ms: 56 })
      await store.flush()
      await store.close()
      await watch.waitFor(/\d\d:\d\d:\d\d \[tool_call\] watched:get_file → success \(56ms\)/)
      expect(watch.out()).not.toContain('skip_me')
      expect(watch.out()).not.toContain('before_watch')
    } finally {
      watch.child.kill('SIGINT')
      expect(await exited(watch.child)).toBe(0)
    }
  })

  it('reads while another process holds the write lock: never "database locked"', async () => {
    const db = new Database(join(dataDir, 'activity.db'))
    db.exec('BEGIN IMMEDIATE')
    db.prepare("UPDATE activity SET error = 'uncommitted' WHERE id = ?").run(ids[0])
    try {
      const r = await cli(['activity', 'list', '--json', '--limit', '1'])
      expect(r.stderr).not.toMatch(/locked/)
      expect(r.code).toBe(0)
      expect((JSON.parse(r.stdout) as ActivityPage).total).toBe(28)
    } finally {
      db.exec('ROLLBACK')
      db.close()
    }
  })

  it('status says stopped and counts the records; config validate names the bad key', async () => {
    const s = await cli(['status', '--json'])
    expect(s.code).toBe(0)
    expect(JSON.parse(s.stdout)).toMatchObject({ status: 'stopped', activity: { records: 28 } })
    expect((await cli(['config', 'validate'])).code).toBe(0)
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ listen: 'nowhere', activity_retention_days: 0 }))
    const r = await cli(['config', 'validate', bad])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/listen: must be host:port/)
    const notJson = join(dir, 'broken.json')
    writeFileSync(notJson, '{"listen": ')
    const broken = await cli(['config', 'validate', notJson])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/not valid JSON/)
  })

  it('servers add/disable/quarantine edit the config file; servers added land quarantined', async () => {
    const cfg = () => JSON.parse(readFileSync(join(dataDir, 'mcp_config.json'), 'utf8')) as { mcpServers: Record<string, Record<string, unknown>> }
    expect(cfg().mcpServers.memory).toMatchObject({ command: 'node', args: ['memory.js'], quarantined: true })
    expect((await cli(['servers', 'disable', 'memory'])).code).toBe(0)
    expect(cfg().mcpServers.memory!.enabled).toBe(false)
    expect((await cli(['servers', 'unquarantine', 'memory'])).code).toBe(0)
    expect(cfg().mcpServers.memory!.quarantined).toBe(false)
    const dup = await cli(['servers', 'add', 'memory', '--url', 'http://127.0.0.1:9/mcp'])
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/already exists/)
    const missing = await cli(['servers', 'enable', 'nope'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/no server named "nope"/)
    // a stray word before -- is not taken for the command
    const stray = await cli(['servers', 'add', 'bad', 'name', '--', 'node', 'x.js'])
    expect(stray.code).toBe(2)
    expect(stray.stderr).toMatch(/"name"/)
    expect(cfg().mcpServers.bad).toBeUndefined()
    const list = JSON.parse((await cli(['servers', 'list', '--json'])).stdout) as Array<{ name: string; enabled: boolean }>
    expect(list).toEqual([expect.objectContaining({ name: 'memory', enabled: false })])
    const restart = await cli(['servers', 'restart', 'memory'])
    expect(restart.code).toBe(1)
    expect(restart.stderr).toMatch(/needs a running mcpproxy core/)
  })

  it('approvals and tools search need a running core and say so (exit 1)', async () => {
    for (const args of [['approvals', 'list'], ['tools', 'search', 'echo']]) {
      const r = await cli(args)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/needs a running mcpproxy core/)
    }
  })

  it('MCPPROXY_DATA_DIR is used when --data-dir is absent', async () => {
    const r = await run(['activity', 'list', '--json', '--limit', '1'], { env: { ...baseEnv(), MCPPROXY_DATA_DIR: dataDir } })
    expect(r.code).toBe(0)
    expect((JSON.parse(r.stdout) as ActivityPage).total).toBe(28)
  })

  it('activity delete needs --yes for a filter and deletes one record by id', async () => {
    const noYes = await cli(['activity', 'delete', '--filter', '--server', 'filesystem'])
    expect(noYes.code).toBe(1)
    expect(noYes.stderr).toMatch(/5 records match; run again with --yes/)
    const noFilter = await cli(['activity', 'delete', '--filter', '--yes'])
    expect(noFilter.code).toBe(2)
    const del = await cli(['activity', 'delete', '--filter', '--server', 'filesystem', '--yes', '--json'])
    expect(del.code).toBe(0)
    expect(JSON.parse(del.stdout)).toEqual({ deleted: 5 })
    expect((await cli(['activity', 'delete', ids[0]!])).code).toBe(0)
    expect((await cli(['activity', 'show', ids[0]!])).code).toBe(1)
    // a deletion is itself recorded and the chain still verifies
    const v = await cli(['activity', 'verify'])
    expect(v.stdout).toMatch(/^OK/)
    expect(v.code).toBe(0)
  })

  it('activity verify exits 1 naming the first edited record', async () => {
    const copy = join(dir, 'tampered')
    const src = join(dataDir, 'activity.db')
    const db = new Database(src)
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    rmSync(copy, { recursive: true, force: true })
    ;(await import('node:fs')).mkdirSync(copy)
    ;(await import('node:fs')).copyFileSync(src, join(copy, 'activity.db'))
    const t = new Database(join(copy, 'activity.db'))
    t.prepare("UPDATE activity SET duration_ms = 99999 WHERE id = ?").run(ids[5])
    t.close()
    const r = await run(['--data-dir', copy, 'activity', 'verify'])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(ids[5])
    expect(existsSync(join(copy, 'mcp_config.json'))).toBe(false)
  })
})

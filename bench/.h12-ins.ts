import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import type { ActivityRecord } from '../src/shared/activity'
import { ftsText } from '../src/core/activity/append'
import { toRows } from '../src/core/activity/record-codec'
import { ROW_COLUMNS } from '../src/core/activity/query'
import { openDb } from '../src/core/store/db'
const W = 'invoice budget quarterly report customer refund migration schema deploy rollback cluster staging production latency incident outage ticket sprint backlog release'.split(' ')
const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)]!
const N = Number(process.env.N ?? 20000)
const recs: ActivityRecord[] = Array.from({ length: N }, (_, i) => ({ id: ulid(1.7e12 + i * 1000), type: 'tool_call', timestamp: new Date(1.7e12 + i * 1000).toISOString(), session_id: 'session-' + Math.floor(i / 200), request_id: String(i), server_name: 's' + (i % 20), tool_name: 't' + (i % 200), status: 'success', client: { name: 'Cursor', version: '1' }, arguments: { path: `/home/user/project/${pick(W)}/${pick(W)}-${i % 997}.md`, query: `${pick(W)} ${pick(W)} ${pick(W)}` }, response: { content: [{ type: 'text', text: Array.from({ length: 12 }, () => pick(W)).join(' ') }] }, duration_ms: 20, intent: { operation_type: 'read' } }))
for (const variant of (process.env.V ?? 'full,notrig,nofts,noidx').split(',')) {
  const dir = mkdtempSync(join(tmpdir(), 'h12-'))
  const db = openDb(join(dir, 'a.db'))
  db.pragma('cache_size = -65536')
  if (variant !== 'full') db.exec('DROP TRIGGER activity_count_insert')
  if (variant === 'noidx') for (const ix of ['activity_by_type', 'activity_by_status', 'activity_by_server', 'activity_by_tool', 'activity_by_session', 'activity_by_intent', 'activity_sensitive', 'activity_pending']) db.exec(`DROP INDEX ${ix}`)
  const insA = db.prepare(`INSERT INTO activity (${ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const insB = db.prepare('INSERT INTO activity_body (rid, arguments, response) VALUES (?, ?, ?)')
  const insF = db.prepare('INSERT INTO activity_fts (rowid, body) VALUES (?, ?)')
  const flush = db.transaction((rs: ActivityRecord[]) => { for (const r of rs) { const { row, body } = toRows(r, null); const rid = insA.run(...Object.values(row)).lastInsertRowid; insB.run(rid, body.arguments, body.response); if (variant !== 'nofts') insF.run(rid, ftsText(r, body)) } })
  const t = performance.now()
  for (let i = 0; i < N; i += 5000) flush(recs.slice(i, i + 5000))
  console.log(variant, Math.round(N / ((performance.now() - t) / 1000)), 'rec/s')
  db.close(); rmSync(dir, { recursive: true, force: true })
}

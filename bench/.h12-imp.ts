import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { ActivityRecordSchema, type ActivityRecord } from '../src/shared/activity'
import { importActivity } from '../src/core/activity/import'
import { appendRecordsBulk } from '../src/core/activity/bulk-append'
import { openDb } from '../src/core/store/db'
const W = 'invoice budget quarterly report customer refund migration schema deploy rollback cluster staging production latency incident outage ticket sprint backlog release'.split(' ')
const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)]!
const N = Number(process.env.N ?? 30000)
let k = 0
const fakeUlid = (ms: number): string => { const t = ulid(ms).slice(0, 10); return t + String(++k).padStart(16, '0') }
const recs: ActivityRecord[] = Array.from({ length: N }, (_, i) => ({ id: fakeUlid(1.7e12 + i * 1000), type: 'tool_call', timestamp: new Date(1.7e12 + i * 1000).toISOString(), session_id: 'session-' + Math.floor(i / 200), request_id: String(i), server_name: 's' + (i % 20), tool_name: 't' + (i % 200), status: 'success', client: { name: 'Cursor', version: '1' }, arguments: { path: `/home/user/project/${pick(W)}/${pick(W)}-${i % 997}.md`, query: `${pick(W)} ${pick(W)} ${pick(W)}` }, response: { content: [{ type: 'text', text: Array.from({ length: 12 }, () => pick(W)).join(' ') }] }, duration_ms: 20, intent: { operation_type: 'read' } }))
const lines = recs.map((r) => JSON.stringify(r))
let t = performance.now()
for (const l of lines) ActivityRecordSchema.safeParse(JSON.parse(l))
console.log('parse+zod', Math.round(N / ((performance.now() - t) / 1000)), 'rec/s')
import { appendRecords } from '../src/core/activity/append'
for (const v of (process.env.V ?? 'import,bulk,append').split(',')) {
  const dir = mkdtempSync(join(tmpdir(), 'h12-'))
  const db = openDb(join(dir, 'a.db'))
  db.pragma('cache_size = -65536')
  const c0 = process.cpuUsage()
  t = performance.now()
  if (v === 'nodrop') db.exec('DROP TRIGGER activity_count_insert')
  if (v === 'append' || v === 'nodrop') for (let i = 0; i < N; i += 5000) appendRecords(db, recs.slice(i, i + 5000))
  else if (v === 'import') await importActivity(db, lines)
  else for (let i = 0; i < N; i += 5000) appendRecordsBulk(db, recs.slice(i, i + 5000))
  const c = process.cpuUsage(c0)
  console.log(v, Math.round(N / ((performance.now() - t) / 1000)), 'rec/s wall;', Math.round(N / ((c.user + c.system) / 1e6)), 'rec/cpu-s')
  db.close(); rmSync(dir, { recursive: true, force: true })
}

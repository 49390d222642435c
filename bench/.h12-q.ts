import { createActivityQueries } from '../src/core/activity/query'
import { openDb } from '../src/core/store/db'
const db = openDb('/tmp/h12/db/activity.db')
const q = createActivityQueries(db)
const qs = ['search_issues', 'get_files', 'list_rows', 'invoice', 'quarterly report', 'rollback', 'rate limit', 'migration schema', 'permission']
for (const s of qs) {
  const ts: number[] = []
  let p
  for (let i = 0; i < 12; i++) { const t = performance.now(); p = q.list({ q: s }, { limit: 50, offset: 0 }); ts.push(performance.now() - t) }
  ts.sort((a, b) => a - b)
  const exact = q.count({ q: s })
  console.log(s.padEnd(18), 'p50', ts[6]!.toFixed(2), 'max', ts[11]!.toFixed(2), 'total', p!.total, p!.total_estimated ? '(est)' : '', 'exact', exact)
}

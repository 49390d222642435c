import { exportActivity } from '../src/core/activity/export'
import { openDb } from '../src/core/store/db'
const db = openDb('/tmp/h12/db/activity.db')
for (const mode of (process.env.V ?? 'json,csv,jsonnb').split(',')) {
  const c0 = process.cpuUsage(); const t = performance.now(); let bytes = 0
  for await (const chunk of exportActivity(db, {}, { format: mode === 'csv' ? 'csv' : 'json', includeBodies: mode === 'json' })) bytes += chunk.length
  const c = process.cpuUsage(c0)
  console.log(mode, Math.round(100000 / ((performance.now() - t) / 1000)), 'rows/s wall', Math.round(100000 / ((c.user + c.system) / 1e6)), 'rows/cpu-s', bytes)
}

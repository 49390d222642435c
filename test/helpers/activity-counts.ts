// activity_count as stored and as recomputed from scratch, for tests that check the write path keeps it.
import type { Db } from '../../src/core/store/db'

type Count = { field: string; value: string; n: number }

/** activity_count as it stands (zero rows left by deletions are not counts). */
export const storedCounts = (d: Db): Count[] =>
  d.prepare('SELECT field, value, n FROM activity_count WHERE n <> 0 ORDER BY field, value').all() as Count[]

/** The same counts recomputed from scratch over the activity table. */
export const recomputedCounts = (d: Db): Count[] =>
  d
    .prepare(
      `SELECT field, value, n FROM (
         SELECT '*' AS field, '' AS value, count(*) AS n FROM activity
         UNION ALL SELECT 'type', type, count(*) FROM activity GROUP BY type
         UNION ALL SELECT 'status', status, count(*) FROM activity GROUP BY status
         UNION ALL SELECT 'server_name', server_name, count(*) FROM activity WHERE server_name IS NOT NULL GROUP BY server_name
         UNION ALL SELECT 'tool_name', tool_name, count(*) FROM activity WHERE tool_name IS NOT NULL GROUP BY tool_name
         UNION ALL SELECT 'session_id', session_id, count(*) FROM activity WHERE session_id IS NOT NULL GROUP BY session_id
         UNION ALL SELECT 'intent_type', intent_type, count(*) FROM activity WHERE intent_type IS NOT NULL GROUP BY intent_type
         UNION ALL SELECT 'sensitive', '1', count(*) FROM activity WHERE sensitive = 1
       ) WHERE n <> 0 ORDER BY field, value`,
    )
    .all() as Count[]

type Hourly = { status: unknown[]; tool: unknown[] }

/** The hourly rollups as they stand (zero rows left by deletions are not counts). */
export const storedHourly = (d: Db): Hourly => ({
  status: d.prepare('SELECT hour, type, status, n, timed FROM activity_hourly_status WHERE n <> 0 OR timed <> 0 ORDER BY 1, 2, 3').all(),
  tool: d.prepare('SELECT hour, server_name, tool_name, nulls, n FROM activity_hourly_tool WHERE n <> 0 ORDER BY 1, 2, 3, 4').all(),
})

/** The same rollups recomputed from scratch over the activity table. */
export const recomputedHourly = (d: Db): Hourly => ({
  status: d
    .prepare('SELECT ts / 3600000 AS hour, type, status, count(*) AS n, count(duration_ms) AS timed FROM activity GROUP BY 1, 2, 3 ORDER BY 1, 2, 3')
    .all(),
  tool: d
    .prepare(
      `SELECT ts / 3600000 AS hour, coalesce(server_name, '') AS server_name, coalesce(tool_name, '') AS tool_name,
         (server_name IS NULL) + 2 * (tool_name IS NULL) AS nulls, count(*) AS n
       FROM activity WHERE type = 'tool_call' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
    )
    .all(),
})

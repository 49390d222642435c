/**
 * The config's flat activity_* keys reach the store's retention under the right names: pruning
 * by count follows activity_max_records and pruning by size activity_max_db_mb, for a store
 * opened with a config's settings and after a config change.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { appendRecords } from '../activity/append'
import { dbFileBytes } from '../activity/retention'
import { createActivityStore, type ActivityStoreHandle } from '../activity/store'
import { openDb } from '../store/db'
import { activitySettingsFrom } from './activity-settings'
import { parseConfig } from './load'

const NOW = new Date(Date.UTC(2026, 5, 1))
const MB = 1024 * 1024

let dir: string
let file: string
let store: ActivityStoreHandle | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'activity-settings-'))
  file = join(dir, 'activity.db')
})
afterEach(async () => {
  await store?.close()
  store = undefined
  rmSync(dir, { recursive: true, force: true })
})

/** `n` records, a second apart, ending an hour before NOW; `blob` pads each one's arguments. */
function fill(n: number, blob = ''): void {
  const db = openDb(file)
  const start = NOW.getTime() - 3_600_000 - n * 1000
  const records: ActivityRecord[] = Array.from({ length: n }, (_, i) => ({
    id: ulid(start + i * 1000),
    timestamp: new Date(start + i * 1000).toISOString(),
    type: 'tool_call',
    status: 'success',
    server_name: 'everything',
    tool_name: 'echo',
    arguments: { i, blob },
  }))
  for (let i = 0; i < n; i += 100) appendRecords(db, records.slice(i, i + 100))
  db.close()
}

const fileBytes = (): number => {
  const db = openDb(file)
  try {
    return dbFileBytes(db)
  } finally {
    db.close()
  }
}

const openWith = (configText: string): ActivityStoreHandle =>
  (store = createActivityStore({ file, settings: activitySettingsFrom(parseConfig(configText)), retention: false }))

describe('activitySettingsFrom', () => {
  it('maps each activity_* key of the config to its own setting', () => {
    const config = parseConfig(
      JSON.stringify({
        activity_retention_days: 7,
        activity_max_records: 1234,
        activity_max_response_size: 4096,
        activity_cleanup_interval_min: 15,
        activity_max_db_mb: 64,
        redact_pii: true,
        activity_metadata_only: true,
      }),
    )
    expect(activitySettingsFrom(config)).toEqual({
      retentionDays: 7,
      maxRecords: 1234,
      maxResponseSize: 4096,
      cleanupIntervalMin: 15,
      maxDbMb: 64,
      redactPii: true,
      metadataOnly: true,
    })
  })

  it('prunes by count to activity_max_records (not activity_max_db_mb), and to the new value after a config change', async () => {
    fill(400)
    const s = openWith(JSON.stringify({ activity_max_records: 150, activity_max_db_mb: 4096, activity_retention_days: 36_500 }))
    expect(s.prune(NOW)).toEqual({ pruned: 250, reason: 'count' })
    expect(s.count({})).toBe(150)
    s.updateSettings(activitySettingsFrom(parseConfig(JSON.stringify({ activity_max_records: 100, activity_max_db_mb: 4096 }))))
    expect(s.prune(NOW)).toEqual({ pruned: 50, reason: 'count' })
    expect(s.count({})).toBe(100)
    expect((await s.verify()).ok).toBe(true)
  })

  it('prunes by size to activity_max_db_mb (not activity_max_records)', async () => {
    fill(1000, 'z'.repeat(4000))
    expect(fileBytes()).toBeGreaterThan(4 * MB)
    const s = openWith(JSON.stringify({ activity_max_records: 100_000, activity_max_db_mb: 2, activity_retention_days: 36_500 }))
    const r = s.prune(NOW)
    expect(r.reason).toBe('size')
    expect(r.pruned).toBeGreaterThan(0)
    expect(r.pruned).toBeLessThan(1000)
    expect(s.count({})).toBe(1000 - r.pruned)
    expect(fileBytes()).toBeLessThanOrEqual(2 * MB)
    expect((await s.verify()).ok).toBe(true)
  })
})

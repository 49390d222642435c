import type { ActivitySettings } from '../activity/types'
import type { Config } from './schema'

/** The activity store's settings from the config's flat activity_* keys. */
export function activitySettingsFrom(config: Config): Partial<ActivitySettings> {
  return {
    retentionDays: config.activity_retention_days,
    maxRecords: config.activity_max_records,
    maxResponseSize: config.activity_max_response_size,
    cleanupIntervalMin: config.activity_cleanup_interval_min,
    maxDbMb: config.activity_max_db_mb,
    redactPii: config.redact_pii,
    metadataOnly: config.activity_metadata_only,
  }
}

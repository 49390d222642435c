/**
 * The activity database opened by the CLI itself, used only when no core runs: read-only for
 * the read commands (WAL readers never take the writer's lock), writable only for import and
 * delete, which need the store's own bookkeeping (hash chain, deletion records).
 * The store is imported lazily so commands that only talk REST start fast.
 */
import { existsSync, mkdirSync } from 'node:fs'
import type { ActivityReader } from '../core/activity/store'
import type { ActivityStore } from '../core/activity/types'
import type { CliContext } from './context'
import { CliError } from './errors'

export type LocalActivityReader = ActivityReader

export async function openLocalReader(ctx: CliContext): Promise<LocalActivityReader> {
  if (!existsSync(ctx.paths.db)) {
    throw new CliError(`no activity database at ${ctx.paths.db}: nothing has been recorded for this data dir yet`, { code: 'NOT_FOUND' })
  }
  const { openActivityStoreReadOnly } = await import('../core/activity/store')
  return openActivityStoreReadOnly(ctx.paths.db)
}

/** A writable store for import/delete while no core runs (a core would otherwise own the writes). */
export async function openLocalWriter(ctx: CliContext): Promise<ActivityStore> {
  mkdirSync(ctx.dataDir, { recursive: true, mode: 0o700 })
  const { createActivityStore } = await import('../core/activity/store')
  return createActivityStore({ file: ctx.paths.db, retention: false })
}

import { chmodSync } from 'node:fs'
import Database from 'better-sqlite3'
import { CoreError } from '../errors'
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations'

export type Db = Database.Database

export interface OpenDbOptions {
  readonly?: boolean
  /** better-sqlite3 `nativeBinding`: the Electron main passes a binary built for Electron's ABI */
  nativeBinding?: string
  /** how long a writer waits for another process's lock */
  busyTimeoutMs?: number
  migrations?: readonly Migration[]
}

/**
 * Opens (and migrates) the SQLite database: WAL, NORMAL sync, a busy timeout so several
 * processes can share it. A database from a newer version is refused, never touched.
 */
export function openDb(file: string, options: OpenDbOptions = {}): Db {
  const migrations = options.migrations ?? MIGRATIONS
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0
  let db: Db
  try {
    db = new Database(file, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
      nativeBinding: options.nativeBinding,
    })
  } catch (err) {
    throw new CoreError('DB_ERROR', `cannot open the activity database ${file}: ${(err as Error).message}`)
  }
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`)
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > latest) {
    db.close()
    throw new CoreError(
      'DB_TOO_NEW',
      `the activity database ${file} has schema version ${version}, newer than this mcpproxy understands (${latest}); upgrade mcpproxy or point --data-dir elsewhere`,
    )
  }
  if (options.readonly) {
    if (version < latest) {
      db.close()
      throw new CoreError('DB_ERROR', `the activity database ${file} is at schema ${version} and needs a migration; start mcpproxy once to upgrade it`)
    }
    return db
  }
  // retention returns freed pages with incremental_vacuum instead of a full VACUUM; the mode can
  // only be chosen before the first table exists, and before WAL is switched on
  if (version === 0) db.pragma('auto_vacuum = INCREMENTAL')
  keepPrivate(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  try {
    migrate(db, migrations)
  } catch (err) {
    db.close()
    throw err
  }
  return db
}

/**
 * The activity log holds what agents sent and got back (redacted, but still private): the
 * database file is 0600 like the config, and SQLite gives its WAL and shared-memory files the
 * database file's mode. A file this process does not own (chmod fails) is left as it is.
 */
function keepPrivate(file: string): void {
  if (file === ':memory:' || file === '' || process.platform === 'win32') return
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600)
    } catch {
      // absent (no WAL yet), or someone else's file
    }
  }
}

/** Applies pending migrations, each in its own IMMEDIATE transaction, bumping user_version. */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number {
  let applied = 0
  for (const m of migrations) {
    const run = db.transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number
      if (current >= m.version) return false
      db.exec(m.sql)
      db.pragma(`user_version = ${m.version}`)
      return true
    })
    try {
      if (run.immediate()) applied++
    } catch (err) {
      throw new CoreError('DB_ERROR', `migration ${m.version} (${m.name}) failed and was rolled back: ${(err as Error).message}`)
    }
  }
  return applied
}

export { SCHEMA_VERSION }

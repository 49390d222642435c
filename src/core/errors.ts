/** Typed core errors with a stable `code`; REST maps `status` and `code` to its error envelope. */
export type CoreErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_PARAMETER'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'CONFIG_INVALID'
  | 'DB_TOO_NEW'
  | 'DB_ERROR'
  | 'DISK_FULL'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'BLOCKED'
  | 'INTERNAL'

const STATUS: Record<CoreErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_PARAMETER: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  CONFIG_INVALID: 400,
  DB_TOO_NEW: 500,
  DB_ERROR: 500,
  DISK_FULL: 507,
  UPSTREAM_ERROR: 502,
  UPSTREAM_TIMEOUT: 504,
  BLOCKED: 403,
  INTERNAL: 500,
}

export class CoreError extends Error {
  readonly code: CoreErrorCode
  readonly status: number
  readonly details?: Record<string, unknown>

  constructor(code: CoreErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'CoreError'
    this.code = code
    this.status = STATUS[code]
    this.details = details
  }
}

export function isCoreError(err: unknown): err is CoreError {
  return err instanceof CoreError
}

/** Error codes meaning the disk is full: SQLite's (also its max_page_count limit) and the OS's. */
const DISK_FULL_CODES: ReadonlySet<string> = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT'])

/**
 * Whether a write failed because the disk is full: SQLITE_FULL, ENOSPC or EDQUOT (quota), or an
 * SQLite I/O error whose message names ENOSPC. A DISK_FULL CoreError is one too.
 */
export function isDiskFull(err: unknown): boolean {
  if (isCoreError(err)) return err.code === 'DISK_FULL'
  if (typeof err !== 'object' || err === null) return false
  const { code, message } = err as { code?: unknown; message?: unknown }
  if (typeof code !== 'string') return false
  if (DISK_FULL_CODES.has(code)) return true
  return code.startsWith('SQLITE_IOERR') && typeof message === 'string' && /\bENOSPC\b|no space left/i.test(message)
}

/**
 * The one DISK_FULL error (HTTP 507 Insufficient Storage) for a write the disk could not take:
 * it says that the disk is full, what was not written and what was kept (`outcome`; the default
 * fits a write that rolled back, as SQLite transactions and the config's atomic write do).
 */
export function diskFullError(err: unknown, outcome = 'the change was not written, and everything stored before it is kept'): CoreError {
  if (isCoreError(err) && err.code === 'DISK_FULL') return err
  const code = (err as { code?: unknown } | null)?.code
  return new CoreError('DISK_FULL', `the disk is full${typeof code === 'string' ? ` (${code})` : ''}: ${outcome}; free some disk space and try again`)
}

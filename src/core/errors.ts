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

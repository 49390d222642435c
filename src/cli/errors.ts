/** Exit codes of the `mcpproxy` command. */
export const EXIT_OK = 0
export const EXIT_ERROR = 1
export const EXIT_USAGE = 2

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number
  readonly code?: string
  readonly status?: number

  constructor(message: string, options: { exitCode?: number; code?: string; status?: number } = {}) {
    super(message)
    this.name = 'CliError'
    this.exitCode = options.exitCode ?? EXIT_ERROR
    this.code = options.code
    this.status = options.status
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: EXIT_USAGE, code: 'USAGE' })
}

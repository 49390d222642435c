import { appendFileSync } from 'node:fs'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(scope: string): Logger
}

export interface LoggerOptions {
  level?: LogLevel
  /** JSON lines are appended here when set */
  file?: string
  /** also write to stderr (never stdout: stdout carries MCP in stdio mode) */
  stderr?: boolean
  scope?: string
}

/** A small structured logger: JSON lines to a file and/or stderr. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[options.level ?? (process.env.MCPPROXY_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? 20
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return
    const line = JSON.stringify({ t: new Date().toISOString(), level, scope: options.scope, msg, ...fields })
    if (options.file) {
      try {
        // 0600 like the config: log lines can name servers, tools and paths
        appendFileSync(options.file, line + '\n', { mode: 0o600 })
      } catch {
        // a log file we cannot write must never break the core; stderr still gets the line
      }
    }
    if (options.stderr) process.stderr.write(line + '\n')
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (scope) => createLogger({ ...options, scope: options.scope ? `${options.scope}.${scope}` : scope }),
  }
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
}

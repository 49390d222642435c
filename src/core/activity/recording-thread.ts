/**
 * What the worker threads that record share (the activity writer's, the wrap's): a logger that
 * hands lines to the thread that owns the real one, and a priority below relaying.
 */
import { setPriority } from 'node:os'
import type { Logger, LogLevel } from '../logger'

/** A log line posted from a recording thread to its owner. */
export interface LogMessage {
  k: 'log'
  level: LogLevel
  msg: string
  fields?: Record<string, unknown>
}

export function forwardingLogger(post: (m: LogMessage) => void): Logger {
  const logger: Logger = {
    debug: (msg, fields) => post({ k: 'log', level: 'debug', msg, fields }),
    info: (msg, fields) => post({ k: 'log', level: 'info', msg, fields }),
    warn: (msg, fields) => post({ k: 'log', level: 'warn', msg, fields }),
    error: (msg, fields) => post({ k: 'log', level: 'error', msg, fields }),
    child: () => logger,
  }
  return logger
}

/** The nice value of a recording thread (0 is the default; 19 the lowest priority). */
export const RECORDING_NICE = 19

/**
 * Lowers the calling thread's priority, so that on a saturated machine the log falls behind
 * (by a bounded queue) instead of the calls slowing down. Linux sets a thread's own nice value
 * this way; elsewhere setpriority would lower the whole process, so it is left alone there.
 */
export function yieldToRelaying(logger: Logger): void {
  if (process.platform !== 'linux') return
  try {
    setPriority(0, RECORDING_NICE)
  } catch (err) {
    logger.debug('could not lower the recording thread priority', { error: (err as Error).message })
  }
}

import { watch, readFileSync, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { CoreError } from '../errors'
import type { EventBus } from '../events/bus'
import type { Logger } from '../logger'
import { describeIssues, parseConfig, writeConfigFile } from './load'
import { ConfigSchema, type Config } from './schema'

/**
 * The running config and the one way to change it. Edits go through `update`, which keeps the
 * user's own keys, validates, writes atomically and then notifies; an invalid edit of the file
 * on disk is reported (`config.reloaded` with ok=false) and the running config stays.
 */
export interface ConfigStore {
  current(): Config
  /** the file's JSON as last read or written (for edits that keep unknown keys) */
  raw(): Record<string, unknown>
  /** applies a mutation of the raw JSON; validates, writes, notifies. CONFIG_INVALID on bad result */
  update(mutate: (raw: Record<string, unknown>) => void): Promise<Config>
  /** replaces the whole file content (POST /config/apply) */
  replace(next: Record<string, unknown>): Promise<Config>
  /** called after every successful change: `origin` says whether through this store or by an edit of the file */
  onChange(listener: (config: Config, previous: Config, origin: ConfigChangeOrigin) => void): () => void
  /** called when an edit of the file is rejected (the running config stays), with the reason */
  onRejected(listener: (error: string) => void): () => void
  /** after a rejected edit, the file loads again and says what the running config says (a fix back) */
  onRestored(listener: () => void): () => void
  /** starts watching the file for outside edits */
  watch(): void
  close(): void
}

export type ConfigChangeOrigin = 'store' | 'file'

export function createConfigStore(file: string, initial: { config: Config; raw: Record<string, unknown> }, bus: EventBus, logger: Logger): ConfigStore {
  let config = initial.config
  let raw = initial.raw
  let lastWritten = JSON.stringify(raw)
  const listeners = new Set<(c: Config, p: Config, origin: ConfigChangeOrigin) => void>()
  const rejectedListeners = new Set<(error: string) => void>()
  const restoredListeners = new Set<() => void>()
  /** the file on disk was rejected last: a fix back to the running config is worth saying */
  let fileRejected = false
  let watcher: FSWatcher | null = null
  let debounce: NodeJS.Timeout | null = null
  let chain: Promise<unknown> = Promise.resolve()

  const commit = (nextRaw: Record<string, unknown>): Config => {
    const parsed = ConfigSchema.safeParse(nextRaw)
    if (!parsed.success) throw new CoreError('CONFIG_INVALID', `invalid config: ${describeIssues(parsed.error)}`)
    writeConfigFile(file, nextRaw)
    lastWritten = JSON.stringify(nextRaw)
    const previous = config
    raw = nextRaw
    config = parsed.data
    notify(previous, 'store')
    return config
  }

  const each = <A extends unknown[]>(set: Set<(...a: A) => void>, ...args: A): void => {
    for (const l of set) {
      try {
        l(...args)
      } catch (err) {
        logger.error('config listener failed', { error: (err as Error).message })
      }
    }
  }
  const notify = (previous: Config, origin: ConfigChangeOrigin): void => {
    each(listeners, config, previous, origin)
    bus.emit('config.reloaded', { ok: true, timestamp: new Date().toISOString() })
  }

  // serialize edits so two concurrent updates never lose one another
  const serialized = <T>(fn: () => T): Promise<T> => {
    const next = chain.then(fn, fn)
    chain = next.catch(() => undefined)
    return next
  }

  const reloadFromDisk = (): void => {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      logger.warn('config file unreadable; keeping the running config', { error: (err as Error).message })
      return
    }
    if (text.trim() === '') return
    if (JSON.stringify(safeJson(text)) === lastWritten) {
      // unchanged, or fixed back after a rejected edit: the latter is said, nothing reloads
      if (fileRejected) {
        fileRejected = false
        logger.info('config file loads again; it matches the running config')
        each(restoredListeners)
        bus.emit('config.reloaded', { ok: true, timestamp: new Date().toISOString() })
      }
      return
    }
    try {
      const next = parseConfig(text, file)
      const previous = config
      raw = JSON.parse(text) as Record<string, unknown>
      lastWritten = JSON.stringify(raw)
      config = { ...next, api_key: next.api_key ?? previous.api_key }
      fileRejected = false
      logger.info('config reloaded from disk')
      notify(previous, 'file')
    } catch (err) {
      const message = (err as Error).message
      fileRejected = true
      logger.warn('config edit rejected; the running config stays', { error: message })
      each(rejectedListeners, message)
      bus.emit('config.reloaded', { ok: false, error: message, timestamp: new Date().toISOString() })
    }
  }

  return {
    current: () => config,
    raw: () => structuredClone(raw),
    update: (mutate) =>
      serialized(() => {
        const next = structuredClone(raw)
        mutate(next)
        return commit(next)
      }),
    replace: (next) => serialized(() => commit(structuredClone(next))),
    onChange: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    onRestored: (l) => {
      restoredListeners.add(l)
      return () => restoredListeners.delete(l)
    },
    onRejected: (l) => {
      rejectedListeners.add(l)
      return () => rejectedListeners.delete(l)
    },
    watch: () => {
      if (watcher) return
      try {
        // watch the folder: editors and our own writes replace the file by rename
        watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
          if (name && name !== basename(file)) return
          if (debounce) clearTimeout(debounce)
          debounce = setTimeout(reloadFromDisk, 150)
        })
      } catch (err) {
        logger.warn('cannot watch the config file; live reload is off', { error: (err as Error).message })
      }
    },
    close: () => {
      if (debounce) clearTimeout(debounce)
      watcher?.close()
      watcher = null
    },
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

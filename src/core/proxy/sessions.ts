import { randomUUID } from 'node:crypto'
import type { ClientInfo } from '../../shared/activity'
import type { SessionInfo } from '../../shared/servers'
import type { Logger } from '../logger'
import type { Db } from '../store/db'
import type { SessionService } from './types'
import { redactText } from '../security/redact'

/** A live session as the front ends hold it; `info` is the DTO REST and IPC return. */
export interface Session {
  readonly info: SessionInfo
  setClient(client: ClientInfo): void
  countCall(): void
  end(): void
}

export interface SessionRegistry extends SessionService {
  open(transport: SessionInfo['transport'], client?: ClientInfo, id?: string): Session
  /** writes pending call counts and ends every open session */
  close(): void
}

export interface SessionRegistryOptions {
  /** where sessions persist (the `session` table); in memory only when absent */
  db?: Db
  logger: Logger
  /** how often dirty call counts are written */
  flushIntervalMs?: number
  /** ended sessions kept in memory for list() */
  keepEnded?: number
  /** whether PII in what a client says of itself is masked too, as the records' redact_pii (default false) */
  redactPii?: () => boolean
}

/**
 * Sessions of the aggregated server: one row per session in the `session` table, written at
 * start, when the client introduces itself, and at end; call counts are counted in memory and
 * written on a timer, never on the call path.
 */
export function createSessionRegistry(options: SessionRegistryOptions): SessionRegistry {
  const { db, logger } = options
  const keepEnded = options.keepEnded ?? 200
  const live = new Map<string, SessionInfo>()
  const ended: SessionInfo[] = []
  const dirty = new Set<SessionInfo>()

  const stmts = db
    ? {
        insert: db.prepare(
          `INSERT OR REPLACE INTO session (id, transport, client_name, client_version, client_pid, client_exe, started_at, ended_at, call_count)
           VALUES (@id, @transport, @client_name, @client_version, @client_pid, @client_exe, @started_at, @ended_at, @call_count)`,
        ),
        client: db.prepare(
          'UPDATE session SET client_name = @client_name, client_version = @client_version, client_pid = @client_pid, client_exe = @client_exe WHERE id = @id',
        ),
        count: db.prepare('UPDATE session SET call_count = @call_count WHERE id = @id'),
        end: db.prepare('UPDATE session SET ended_at = @ended_at, call_count = @call_count WHERE id = @id'),
      }
    : null

  // what a client says of itself is masked like a record's fields before it reaches disk
  const masked = (v: string | undefined): string | null => (v === undefined ? null : redactText(v, { redactPii: options.redactPii?.() ?? false }).text)
  const row = (s: SessionInfo) => ({
    id: s.id,
    transport: s.transport,
    client_name: masked(s.client.name),
    client_version: masked(s.client.version),
    client_pid: s.client.pid ?? null,
    client_exe: masked(s.client.exe),
    started_at: s.started_at,
    ended_at: s.ended_at ?? null,
    call_count: s.call_count,
  })

  const write = (what: string, fn: () => void): void => {
    try {
      fn()
    } catch (err) {
      logger.warn('session write failed', { what, error: (err as Error).message })
    }
  }

  const flush = (): void => {
    if (!stmts || dirty.size === 0) return
    const batch = [...dirty]
    dirty.clear()
    write('call counts', () => {
      db!.transaction(() => {
        for (const s of batch) stmts.count.run({ id: s.id, call_count: s.call_count })
      })()
    })
  }
  const timer = stmts ? setInterval(flush, options.flushIntervalMs ?? 5000) : null
  timer?.unref()

  const registry: SessionRegistry = {
    open(transport, client = {}, id = randomUUID()) {
      const info: SessionInfo = { id, transport, client: { ...client }, started_at: new Date().toISOString(), call_count: 0, active: true }
      live.set(id, info)
      if (stmts) write('start', () => stmts.insert.run(row(info)))
      return {
        info,
        setClient(next) {
          info.client = { ...info.client, ...stripUndefined(next) }
          if (stmts && info.active) write('client', () => stmts.client.run(row(info)))
        },
        countCall() {
          info.call_count++
          if (stmts) dirty.add(info)
        },
        end() {
          if (!info.active) return
          info.active = false
          info.ended_at = new Date().toISOString()
          live.delete(id)
          dirty.delete(info)
          ended.push(info)
          if (ended.length > keepEnded) ended.shift()
          if (stmts) write('end', () => stmts.end.run({ id, ended_at: info.ended_at, call_count: info.call_count }))
        },
      }
    },
    list: () => [...live.values(), ...ended].map((s) => ({ ...s, client: { ...s.client } })).sort((a, b) => (a.started_at < b.started_at ? 1 : -1)),
    get: (id) => {
      const s = live.get(id) ?? ended.find((e) => e.id === id)
      return s ? { ...s, client: { ...s.client } } : undefined
    },
    close() {
      if (timer) clearInterval(timer)
      flush()
      const endedAt = new Date().toISOString()
      for (const s of live.values()) {
        s.active = false
        s.ended_at = endedAt
        if (stmts) write('end', () => stmts.end.run({ id: s.id, ended_at: endedAt, call_count: s.call_count }))
        ended.push(s)
      }
      live.clear()
    },
  }
  return registry
}

function stripUndefined(c: ClientInfo): ClientInfo {
  const out: ClientInfo = {}
  for (const [k, v] of Object.entries(c)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}

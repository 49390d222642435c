import {
  CallToolResultSchema,
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import type { ActivityInput } from '../../shared/activity'
import { AddServerSchema, type AddServerInput, type ServerInfo, type ToolChangeInfo, type ToolFindingInfo } from '../../shared/servers'
import type { ActivityRecorder } from '../activity/types'
import { isStdioServer, ServerConfigSchema, type ServerConfig } from '../config/schema'
import type { ConfigStore } from '../config/store'
import { CoreError, isDiskFull } from '../errors'
import type { EventBus } from '../events/bus'
import type { Logger } from '../logger'
import { scanTools } from '../security/poisoning'
import type { Db } from '../store/db'
import { computeHealth } from './health'
import { StderrRing } from './stderr-ring'
import { canonicalJson } from '../activity/record-codec'
import { approvedTool, createToolPinStore, hashTool, toolDefinition, type ToolPin } from './tool-pins'
import type { CallOptions, UpstreamManager, UpstreamTool } from './types'
import { errorMessage, UpstreamConnection, type ConnectionOptions, type ListKind } from './upstream-connection'

/** The tool-poisoning scanner's signature (src/core/security/poisoning.ts). */
export type ScanTools = (
  server: string,
  tools: Array<{ name: string; description?: string; inputSchema?: unknown }>,
  otherServers: string[],
  otherTools: string[],
) => ToolFindingInfo[]

export interface UpstreamManagerDeps {
  config: ConfigStore
  recorder: ActivityRecorder
  bus: EventBus
  db: Db
  logger: Logger
  /** the tool-poisoning scanner; defaults to src/core/security/poisoning.ts */
  scanTools?: ScanTools
  /** connect timeout, backoff and stderr ring size; tests shorten them */
  connection?: Omit<ConnectionOptions, 'logger'>
}

/** The optional members of UpstreamManager this implementation always has. */
export type UpstreamManagerExtras = Required<Pick<UpstreamManager, 'ready'>>

interface Entry {
  name: string
  /** the config as last applied (parsed, defaults filled) */
  config: ServerConfig
  conn: UpstreamConnection | null
  pins: Map<string, ToolPin>
  findings: ToolFindingInfo[]
  /** `tool\0hash` of rug pulls already recorded, so reconnects do not repeat them */
  recordedChanges: Set<string>
  /** tool names of the previous listing, to record removals */
  knownTools: Set<string> | null
  /** failureSignature of the last recorded failure, so a retry loop is recorded once */
  lastFailure?: string
  /** stderr and connection notes, kept across reconnects, restarts and disable/enable */
  ring: StderrRing
}

const SYSTEM = 'system'
const isQuarantined = (cfg: ServerConfig): boolean => cfg.quarantined !== false
/** the same failure with another pid or port is still the same failure */
const failureSignature = (error: string | undefined): string | undefined => error?.replace(/\d+/g, '#')

/** What a change to these fields means: a new process or URL, so the connection restarts. */
function connectionKey(cfg: ServerConfig): string {
  const { enabled: _e, quarantined: _q, ...rest } = cfg
  return canonicalJson(rest)
}

/**
 * Owns the upstream servers: one connection per enabled server (quarantined ones included, so
 * their tools can be reviewed), health, reconnects, the pinned tool definitions and the
 * poisoning scan at list time.
 *
 * Pin policy: leaving quarantine (setQuarantined false, or approveTools without a tool list)
 * pins the current tools that have no pin yet; a tool whose definition changed since its pin
 * stays blocked (shown to clients as its approved definition) until approveTools names it, or a
 * person refuses the change (rejectToolChanges: the pin stays, the change is no longer listed as
 * waiting, and its findings no longer quarantine the server). On a trusted (not quarantined) server, a tool with no pin is pinned
 * automatically when the poisoning scan finds nothing in it (recorded as tool_change `added`, or
 * `pinned` for the first listing of a server that never had pins); a tool whose definition
 * differs from its pin is `changed` (a rug pull) until approveTools re-pins it. Scan findings on
 * a tool that is not approved as-is put the server in quarantine; findings on approved tools
 * stay visible on ServerInfo.findings but do not re-quarantine (the user reviewed them).
 */
export function createUpstreamManager(deps: UpstreamManagerDeps): UpstreamManager & UpstreamManagerExtras {
  const log = deps.logger
  const pinStore = createToolPinStore(deps.db)
  const entries = new Map<string, Entry>()
  const hashes = new WeakMap<Tool, string>()
  let unsubscribe: (() => void) | null = null
  /** admin actions and config reconciles run one at a time, so a reconcile never sees half an action */
  let queue: Promise<void> = Promise.resolve()
  let running = false
  const scan: ScanTools = deps.scanTools ?? scanTools

  const now = (): string => new Date().toISOString()
  const hashOf = (tool: Tool): string => {
    let h = hashes.get(tool)
    if (!h) hashes.set(tool, (h = hashTool(tool)))
    return h
  }
  const pinStateOf = (entry: Entry, tool: Tool): UpstreamTool['pinState'] => {
    const pin = entry.pins.get(tool.name)
    if (!pin) return 'new'
    return pin.hash === hashOf(tool) ? 'approved' : 'changed'
  }
  /** a changed tool whose current definition a person refused: still blocked, no longer waiting for review */
  const isRejected = (entry: Entry, tool: Tool): boolean => {
    const pin = entry.pins.get(tool.name)
    return !!pin && pin.hash !== hashOf(tool) && pin.rejectedHash === hashOf(tool)
  }

  const record = (input: ActivityInput): string | undefined => {
    try {
      return deps.recorder.record(input)
    } catch (err) {
      log.error('cannot record upstream activity', { type: input.type, server: input.server_name, error: errorMessage(err) })
      return undefined
    }
  }
  const serverChange = (
    name: string,
    action: string,
    from: string,
    to: string,
    extra: { actor?: string; reason?: string; error?: string; metadata?: Record<string, unknown> } = {},
  ): void => {
    record({
      type: 'server_change',
      status: extra.error ? 'error' : 'success',
      server_name: name,
      error: extra.error,
      metadata: { action, from, to, reason: extra.reason, actor: extra.actor ?? SYSTEM, ...extra.metadata },
    })
  }
  const changed = (server: string | undefined, reason: string): void => {
    deps.bus.emit('servers.changed', { server, reason, timestamp: now() })
  }
  const indexed = (): void => {
    let total = 0
    for (const e of entries.values()) total += e.conn?.tools.length ?? 0
    deps.bus.emit('tools.indexed', { total, timestamp: now() })
  }

  const writeServer = async (name: string, mutate: (entry: Record<string, unknown> | undefined, all: Record<string, unknown>) => void): Promise<void> => {
    await deps.config.update((raw) => {
      const servers = (raw.mcpServers && typeof raw.mcpServers === 'object' ? raw.mcpServers : (raw.mcpServers = {})) as Record<string, unknown>
      const current = servers[name]
      mutate(current && typeof current === 'object' ? (current as Record<string, unknown>) : undefined, servers)
    })
  }
  /** config writes from automatic decisions (poisoning quarantine) must not throw into callbacks */
  const writeServerQuietly = (name: string, mutate: (entry: Record<string, unknown> | undefined, all: Record<string, unknown>) => void): void => {
    writeServer(name, mutate).catch((err: unknown) => log.error('cannot write the server config', { server: name, error: errorMessage(err) }))
  }

  const mustGet = (name: string): Entry => {
    const entry = entries.get(name)
    if (!entry) throw new CoreError('NOT_FOUND', `unknown server ${name}`)
    return entry
  }

  // ---- connection callbacks -------------------------------------------------------------------

  const onState = (entry: Entry, conn: UpstreamConnection, previous: string): void => {
    if (entries.get(entry.name) !== entry || entry.conn !== conn) return
    const to = conn.state
    if (to === 'ready') {
      entry.lastFailure = undefined
      serverChange(entry.name, 'connected', previous, to, { metadata: { protocol: conn.protocol, tool_count: conn.tools.length } })
    } else if (to === 'backoff' && previous === 'ready') {
      entry.lastFailure = failureSignature(conn.lastError)
      serverChange(entry.name, 'disconnected', previous, to, { error: conn.lastError, metadata: { retry_in_ms: conn.retryInMs } })
    } else if (to === 'backoff' && failureSignature(conn.lastError) !== entry.lastFailure) {
      entry.lastFailure = failureSignature(conn.lastError)
      serverChange(entry.name, 'connect_failed', previous, to, {
        error: conn.lastError,
        metadata: { failures: conn.failures, retry_in_ms: conn.retryInMs },
      })
    }
    changed(entry.name, `state:${to}`)
  }

  const onLists = (entry: Entry, conn: UpstreamConnection, kinds: ListKind[]): void => {
    if (entries.get(entry.name) !== entry || entry.conn !== conn) return
    if (kinds.includes('tools')) {
      try {
        reviewTools(entry, conn)
      } catch (err) {
        // the connection drops itself on this and retries with the backoff: unpinned tools are never used
        log.error('cannot pin the listed tools; the server is not used until they are pinned', { server: entry.name, error: errorMessage(err) })
        throw new CoreError(isDiskFull(err) ? 'DISK_FULL' : 'DB_ERROR', `the tools could not be pinned: ${errorMessage(err)}; they stay blocked until they are`)
      }
      indexed()
    }
    changed(entry.name, `listed:${kinds.join(',')}`)
  }

  /** Scan, rug-pull detection and the auto-pin policy, each time a server's tools are listed. */
  const reviewTools = (entry: Entry, conn: UpstreamConnection): void => {
    const tools = conn.tools
    const others = [...entries.values()].filter((e) => e !== entry)
    let findings: ToolFindingInfo[] = []
    try {
      findings = scan(
        entry.name,
        tools,
        others.map((e) => e.name),
        others.flatMap((e) => e.conn?.tools.map((t) => `${e.name}:${t.name}`) ?? []),
      )
    } catch (err) {
      log.error('tool poisoning scan failed', { server: entry.name, error: errorMessage(err) })
    }
    entry.findings = findings

    for (const tool of tools) {
      const pin = entry.pins.get(tool.name)
      const hash = hashOf(tool)
      if (!pin || pin.hash === hash || pin.rejectedHash === hash) continue
      const key = `${tool.name}\0${hash}`
      if (entry.recordedChanges.has(key)) continue
      entry.recordedChanges.add(key)
      record({
        type: 'tool_change',
        status: 'success',
        server_name: entry.name,
        tool_name: tool.name,
        flags: ['rug_pull'],
        metadata: {
          action: 'changed',
          old_hash: pin.hash,
          new_hash: hash,
          old_definition: pin.definition,
          new_definition: toolDefinition(tool),
          blocked_until_approved: true,
        },
      })
      log.warn('tool definition changed since approval', { server: entry.name, tool: tool.name })
    }

    const names = new Set(tools.map((t) => t.name))
    if (entry.knownTools) {
      const removed = [...entry.knownTools].filter((n) => !names.has(n))
      for (const tool of removed) {
        record({ type: 'tool_change', status: 'success', server_name: entry.name, tool_name: tool, metadata: { action: 'removed' } })
      }
    }
    entry.knownTools = names

    const triggering = findings.filter((f) => {
      const tool = tools.find((t) => t.name === f.tool)
      return !tool || (pinStateOf(entry, tool) !== 'approved' && !isRejected(entry, tool))
    })
    if (triggering.length && !isQuarantined(entry.config)) {
      setQuarantine(entry, true, SYSTEM, 'tool poisoning findings', true, triggering)
    }

    if (!isQuarantined(entry.config)) {
      const flagged = new Set(findings.map((f) => f.tool))
      const fresh = tools.filter((t) => !entry.pins.has(t.name) && !flagged.has(t.name))
      if (fresh.length) {
        const first = entry.pins.size === 0
        pinStore.pin(entry.name, fresh)
        entry.pins = pinStore.forServer(entry.name)
        if (first) {
          record({
            type: 'tool_change',
            status: 'success',
            server_name: entry.name,
            metadata: { action: 'pinned', reason: 'first listing of a trusted server', tools: fresh.map((t) => t.name) },
          })
        } else {
          for (const tool of fresh) {
            record({
              type: 'tool_change',
              status: 'success',
              server_name: entry.name,
              tool_name: tool.name,
              metadata: { action: 'added', new_hash: hashOf(tool), new_definition: toolDefinition(tool), auto_pinned: true },
            })
          }
        }
      }
    }
  }

  // ---- admin actions (shared by the API methods and applyConfig) --------------------------------

  const connect = (entry: Entry): void => {
    const conn = new UpstreamConnection(
      entry.name,
      entry.config,
      {
        onState: (c, previous) => onState(entry, c, previous),
        onLists: (c, kinds) => onLists(entry, c, kinds),
      },
      { ...deps.connection, logger: log, ring: entry.ring },
    )
    entry.conn = conn
    entry.knownTools = null
    conn.start()
  }

  const disconnect = async (entry: Entry): Promise<void> => {
    const conn = entry.conn
    entry.conn = null
    if (conn) await conn.stop()
  }

  const createEntry = (name: string, config: ServerConfig, connectNow = true): Entry => {
    const entry: Entry = {
      name,
      config,
      conn: null,
      pins: pinStore.forServer(name),
      findings: [],
      recordedChanges: new Set(),
      knownTools: null,
      ring: new StderrRing(deps.connection?.stderrLines ?? 500),
    }
    entries.set(name, entry)
    if (config.enabled && running && connectNow) connect(entry)
    return entry
  }

  const setQuarantine = (
    entry: Entry,
    quarantined: boolean,
    actor: string,
    reason: string,
    write: boolean,
    findings?: ToolFindingInfo[],
  ): void => {
    if (isQuarantined(entry.config) === quarantined) return
    let pinned: string[] = []
    let stillChanged: string[] = []
    if (!quarantined) {
      // pinned first: when the pins cannot be written (disk full), the server stays quarantined
      // a tool that changed since its pin is not approved by releasing the server: it is named on
      // the record and stays blocked until approved by name
      const tools = (entry.conn?.tools ?? []).filter((t) => !entry.pins.has(t.name))
      stillChanged = (entry.conn?.tools ?? []).filter((t) => pinStateOf(entry, t) === 'changed').map((t) => t.name)
      pinStore.pin(entry.name, tools)
      entry.pins = pinStore.forServer(entry.name)
      pinned = tools.map((t) => t.name)
    }
    entry.config = { ...entry.config, quarantined }
    if (entry.conn) entry.conn.config = entry.config
    const id = record({
      type: 'quarantine_change',
      status: 'success',
      server_name: entry.name,
      flags: findings?.length ? ['tool_poisoning'] : undefined,
      detection_types: findings?.length ? [...new Set(findings.map((f) => f.kind))] : undefined,
      metadata: {
        action: quarantined ? 'quarantined' : 'released',
        from: quarantined ? 'enabled' : 'quarantined',
        to: quarantined ? 'quarantined' : 'enabled',
        quarantined,
        reason,
        actor,
        ...(findings?.length ? { findings } : {}),
        ...(pinned.length ? { pinned_tools: pinned } : {}),
        ...(stillChanged.length ? { still_blocked_tools: stillChanged } : {}),
      },
    })
    deps.bus.emit('activity.quarantine_change', { id: id ?? '', server: entry.name, quarantined, reason, timestamp: now() })
    log.info(quarantined ? 'server quarantined' : 'server released from quarantine', { server: entry.name, reason, actor })
    if (write) {
      writeServerQuietly(entry.name, (raw) => {
        if (raw) raw.quarantined = quarantined
      })
    }
    changed(entry.name, quarantined ? 'quarantined' : 'unquarantined')
  }

  const setEnabled = async (entry: Entry, enabled: boolean, actor: string): Promise<void> => {
    if (entry.config.enabled === enabled) return
    entry.config = { ...entry.config, enabled }
    serverChange(entry.name, enabled ? 'enabled' : 'disabled', enabled ? 'disabled' : 'enabled', enabled ? 'enabled' : 'disabled', { actor })
    if (enabled) {
      if (running) connect(entry)
    } else {
      await disconnect(entry)
    }
    changed(entry.name, enabled ? 'enabled' : 'disabled')
  }

  const removeEntry = async (entry: Entry, actor: string): Promise<void> => {
    entries.delete(entry.name)
    pinStore.remove(entry.name)
    serverChange(entry.name, 'removed', entry.config.enabled ? 'enabled' : 'disabled', 'removed', { actor })
    changed(entry.name, 'removed')
    await disconnect(entry)
    indexed()
  }

  const reconcile = async (): Promise<void> => {
    const desired = deps.config.current().mcpServers
    for (const entry of [...entries.values()]) {
      if (!(entry.name in desired)) await removeEntry(entry, 'config')
    }
    for (const [name, cfg] of Object.entries(desired)) {
      const entry = entries.get(name)
      if (!entry) {
        createEntry(name, cfg)
        serverChange(name, 'added', 'absent', cfg.enabled ? 'enabled' : 'disabled', {
          actor: 'config',
          metadata: { quarantined: isQuarantined(cfg) },
        })
        changed(name, 'added')
        continue
      }
      if (connectionKey(entry.config) !== connectionKey(cfg)) {
        entry.config = { ...cfg, enabled: entry.config.enabled, quarantined: entry.config.quarantined }
        serverChange(name, 'updated', 'previous config', 'new config', { actor: 'config', reason: 'connection settings changed' })
        if (entry.conn) {
          await disconnect(entry)
          if (running) connect(entry)
        }
        changed(name, 'updated')
      }
      if (isQuarantined(entry.config) !== isQuarantined(cfg)) {
        setQuarantine(entry, isQuarantined(cfg), 'config', 'config file edit', false)
      }
      if (entry.config.enabled !== cfg.enabled) await setEnabled(entry, cfg.enabled, 'config')
    }
  }

  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn)
    queue = next.then(
      () => undefined,
      () => undefined,
    )
    return next
  }

  // ---- views -----------------------------------------------------------------------------------

  const info = (entry: Entry): ServerInfo => {
    const cfg = entry.config
    const conn = entry.conn
    const tools = conn?.tools ?? []
    const changedTools = tools.filter((t) => pinStateOf(entry, t) === 'changed' && !isRejected(entry, t)).map((t) => t.name)
    const rejectedTools = tools.filter((t) => isRejected(entry, t)).map((t) => t.name)
    const state = conn?.state ?? 'stopped'
    const out: ServerInfo = {
      name: entry.name,
      protocol: conn?.protocol ?? (isStdioServer(cfg) ? 'stdio' : cfg.protocol),
      enabled: cfg.enabled,
      connected: conn?.connected ?? false,
      quarantined: isQuarantined(cfg),
      state,
      tool_count: tools.length,
      changed_tools: changedTools,
      rejected_tools: rejectedTools,
      findings: entry.findings,
      health: computeHealth({
        enabled: cfg.enabled,
        quarantined: isQuarantined(cfg),
        state,
        everConnected: conn?.everConnected ?? false,
        failures: conn?.failures ?? 0,
        lastError: conn?.lastError,
        retryInMs: conn?.retryInMs,
        toolCount: tools.length,
        changedTools,
        findingCount: entry.findings.length,
        hasLogs: entry.ring.size > 0 && isStdioServer(cfg),
        pinsFailed: conn?.reviewError === undefined ? undefined : isDiskFull(conn.reviewError) ? 'disk_full' : 'error',
      }),
    }
    if (isStdioServer(cfg)) {
      out.command = cfg.command
      out.args = cfg.args
    } else {
      out.url = cfg.url
    }
    if (conn?.lastError) out.last_error = conn.lastError
    if (conn?.state === 'backoff' && conn.retryInMs !== undefined) out.retry_in_ms = conn.retryInMs
    return out
  }

  const upstreamTools = (entry: Entry): UpstreamTool[] =>
    (entry.conn?.tools ?? []).map((tool) => {
      const pinState = pinStateOf(entry, tool)
      const approved = pinState === 'changed' ? entry.pins.get(tool.name)?.definition : undefined
      return { server: entry.name, tool, hash: hashOf(tool), pinState, ...(approved ? { listed: approvedTool(approved) } : {}) }
    })

  const liveConn = (server: string): UpstreamConnection => {
    const entry = mustGet(server)
    if (!entry.config.enabled || !entry.conn) throw new CoreError('UPSTREAM_ERROR', `server ${server} is disabled`, { disabled: true })
    return entry.conn
  }

  const userQuarantine = async (name: string, quarantined: boolean, actor = 'user'): Promise<void> => {
    const entry = mustGet(name)
    if (isQuarantined(entry.config) === quarantined) return
    setQuarantine(entry, quarantined, actor, quarantined ? 'quarantined by user' : 'approved by user', false)
    await writeServer(name, (raw) => {
      if (raw) raw.quarantined = quarantined
    })
  }

  // ---- the contract ----------------------------------------------------------------------------

  return {
    async start() {
      if (running) return
      running = true
      for (const [name, cfg] of Object.entries(deps.config.current().mcpServers)) {
        if (!entries.has(name)) createEntry(name, cfg)
      }
      unsubscribe = deps.config.onChange(() => {
        exclusive(reconcile).catch((err: unknown) => log.error('applying the server config failed', { error: errorMessage(err) }))
      })
    },

    async stop() {
      running = false
      unsubscribe?.()
      unsubscribe = null
      await queue
      await Promise.all([...entries.values()].map((e) => disconnect(e)))
    },

    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        const waiting = [...entries.values()].some((e) => e.conn && e.conn.state === 'connecting' && e.conn.failures === 0)
        if (!waiting) return
        await new Promise((r) => setTimeout(r, 25))
      }
    },

    list: () => [...entries.values()].map(info),
    get: (name) => {
      const entry = entries.get(name)
      return entry ? info(entry) : undefined
    },
    quarantined: (name) => {
      const entry = entries.get(name)
      return entry ? isQuarantined(entry.config) : undefined
    },

    add(input: AddServerInput, actor = 'user') {
      return exclusive(async () => {
        const parsed = AddServerSchema.safeParse(input)
        if (!parsed.success) {
          throw new CoreError('INVALID_PARAMETER', `invalid server: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
        }
        const { name, command, args, env, cwd, url, headers, protocol, enabled } = parsed.data
        if (!!command === !!url) throw new CoreError('INVALID_PARAMETER', 'a server needs exactly one of command (stdio) or url (remote)')
        if (entries.has(name) || name in (deps.config.current().mcpServers ?? {})) throw new CoreError('CONFLICT', `server ${name} already exists`)
        const rawEntry: Record<string, unknown> = command
          ? { command, args: args ?? [], env: env ?? {}, ...(cwd ? { cwd } : {}) }
          : { url, headers: headers ?? {}, protocol: protocol ?? 'auto' }
        rawEntry.enabled = enabled ?? true
        rawEntry.quarantined = parsed.data.quarantined === false ? false : true
        const cfg = ServerConfigSchema.parse(rawEntry)
        const entry = createEntry(name, cfg, false)
        try {
          await writeServer(name, (_raw, all) => {
            all[name] = rawEntry
          })
        } catch (err) {
          entries.delete(name)
          throw err
        }
        serverChange(name, 'added', 'absent', cfg.enabled ? 'enabled' : 'disabled', { actor, metadata: { quarantined: isQuarantined(cfg) } })
        if (cfg.enabled && running) connect(entry)
        changed(name, 'added')
        return info(entry)
      })
    },

    remove(name, actor = 'user') {
      return exclusive(async () => {
        const entry = mustGet(name)
        await removeEntry(entry, actor)
        await writeServer(name, (_raw, all) => {
          delete all[name]
        })
      })
    },

    enable(name, actor = 'user') {
      return exclusive(async () => {
        const entry = mustGet(name)
        await setEnabled(entry, true, actor)
        await writeServer(name, (raw) => {
          if (raw) raw.enabled = true
        })
      })
    },

    disable(name, actor = 'user') {
      return exclusive(async () => {
        const entry = mustGet(name)
        await setEnabled(entry, false, actor)
        await writeServer(name, (raw) => {
          if (raw) raw.enabled = false
        })
      })
    },

    restart(name, actor = 'user') {
      return exclusive(async () => {
        const entry = mustGet(name)
        if (!entry.config.enabled) throw new CoreError('CONFLICT', `server ${name} is disabled; enable it instead`)
        const from = entry.conn?.state ?? 'stopped'
        serverChange(name, 'restarted', from, 'connecting', { actor })
        entry.lastFailure = undefined
        if (entry.conn) await entry.conn.restart()
        else if (running) connect(entry)
        changed(name, 'restarted')
      })
    },

    setQuarantined: (name, quarantined, actor) => exclusive(() => userQuarantine(name, quarantined, actor)),

    approveTools(name, tools, actor = 'user') {
      return exclusive(async () => {
        const entry = mustGet(name)
        const current = entry.conn?.tools ?? []
        // all: the tools with no pin yet; a changed tool is approved only by name
        let selected = current.filter((t) => pinStateOf(entry, t) === 'new')
        if (tools) {
          const missing = tools.filter((t) => !current.some((c) => c.name === t))
          if (missing.length) throw new CoreError('NOT_FOUND', `server ${name} has no tool ${missing.join(', ')}`)
          selected = current.filter((c) => tools.includes(c.name))
        }
        const approved = selected.map((t) => t.name)
        if (selected.length) {
          const previous = new Map(selected.map((t) => [t.name, entry.pins.get(t.name)?.hash]))
          pinStore.pin(name, selected)
          entry.pins = pinStore.forServer(name)
          for (const key of [...entry.recordedChanges]) if (approved.includes(key.split('\0')[0]!)) entry.recordedChanges.delete(key)
          record({
            type: 'tool_change',
            status: 'success',
            server_name: name,
            tool_name: approved.length === 1 ? approved[0] : undefined,
            metadata: {
              action: 'approved',
              actor,
              tools: selected.map((t) => ({ name: t.name, old_hash: previous.get(t.name), new_hash: hashOf(t) })),
            },
          })
        }
        if (!tools && isQuarantined(entry.config)) {
          await userQuarantine(name, false, actor)
        }
        changed(name, 'tools_approved')
        return approved
      })
    },

    rejectToolChanges(name, tools, actor = 'user') {
      return exclusive(async () => {
        const entry = mustGet(name)
        const current = entry.conn?.tools ?? []
        const selected = tools.map((t) => {
          const tool = current.find((c) => c.name === t)
          if (!tool) throw new CoreError('NOT_FOUND', `server ${name} has no tool ${t}`)
          if (pinStateOf(entry, tool) !== 'changed') throw new CoreError('CONFLICT', `tool ${t} of ${name} has no change since its approval to block`)
          return tool
        })
        const fresh = selected.filter((t) => !isRejected(entry, t))
        if (!fresh.length) return []
        const at = now()
        for (const tool of fresh) pinStore.reject(name, tool.name, hashOf(tool), at)
        entry.pins = pinStore.forServer(name)
        for (const tool of fresh) {
          const pin = entry.pins.get(tool.name)!
          record({
            type: 'tool_change',
            status: 'success',
            server_name: name,
            tool_name: tool.name,
            metadata: {
              action: 'rejected',
              actor,
              old_hash: pin.hash,
              new_hash: hashOf(tool),
              kept: 'the approved definition; the tool stays blocked while the server offers the refused one',
            },
          })
        }
        log.info('tool change refused', { server: name, tools: fresh.map((t) => t.name), actor })
        changed(name, 'tools_rejected')
        return fresh.map((t) => t.name)
      })
    },

    pendingToolChanges(name) {
      const out: ToolChangeInfo[] = []
      for (const entry of name ? [mustGet(name)] : entries.values()) {
        for (const tool of entry.conn?.tools ?? []) {
          const pin = entry.pins.get(tool.name)
          const hash = hashOf(tool)
          if (!pin || pin.hash === hash) continue
          const findings = entry.findings.filter((f) => f.tool === tool.name)
          out.push({
            server: entry.name,
            tool: tool.name,
            old_definition: pin.definition as unknown as Record<string, unknown>,
            new_definition: toolDefinition(tool) as unknown as Record<string, unknown>,
            old_hash: pin.hash,
            new_hash: hash,
            ...(findings.length ? { findings } : {}),
            ...(pin.rejectedHash === hash ? { rejected_at: pin.rejectedAt } : {}),
          })
        }
      }
      return out
    },

    tools(name) {
      if (name) return upstreamTools(mustGet(name))
      return [...entries.values()].flatMap(upstreamTools)
    },

    logs(name, lines = 100) {
      const entry = mustGet(name)
      return entry.ring.tail(lines)
    },

    async callTool(server, tool, args, options: CallOptions): Promise<CallToolResult> {
      const conn = liveConn(server)
      if (conn.state === 'ready' && !conn.tools.some((t) => t.name === tool)) {
        throw new CoreError('NOT_FOUND', `server ${server} has no tool ${tool}`)
      }
      // request() rather than client.callTool(): a proxy passes results through unchanged, so the
      // SDK's output-schema validation must not turn an upstream answer into a local error
      return conn.request(`tool ${tool}`, options, (client, opts) =>
        client.request(
          { method: 'tools/call', params: { name: tool, arguments: args, ...(options.meta ? { _meta: options.meta } : {}) } },
          CallToolResultSchema,
          opts,
        ),
      ) as Promise<CallToolResult>
    },

    listPrompts(): Array<{ server: string; prompt: Prompt }> {
      return [...entries.values()].flatMap((e) => (e.conn?.prompts ?? []).map((prompt) => ({ server: e.name, prompt })))
    },

    async getPrompt(server, name, args, options): Promise<GetPromptResult> {
      const conn = liveConn(server)
      if (conn.state === 'ready' && !conn.prompts.some((p) => p.name === name)) {
        throw new CoreError('NOT_FOUND', `server ${server} has no prompt ${name}`)
      }
      return conn.request(`prompt ${name}`, options, (client, opts) =>
        client.getPrompt({ name, arguments: args, ...(options.meta ? { _meta: options.meta } : {}) }, opts),
      )
    },

    listResources(): Array<{ server: string; resource: Resource }> {
      return [...entries.values()].flatMap((e) => (e.conn?.resources ?? []).map((resource) => ({ server: e.name, resource })))
    },

    listResourceTemplates(): Array<{ server: string; template: ResourceTemplate }> {
      return [...entries.values()].flatMap((e) => (e.conn?.resourceTemplates ?? []).map((template) => ({ server: e.name, template })))
    },

    async readResource(server, uri, options): Promise<ReadResourceResult> {
      const conn = liveConn(server)
      // resources can be templated or unlisted; the upstream decides whether the URI exists
      return conn.request(`resource ${uri}`, options, (client, opts) =>
        client.readResource({ uri, ...(options.meta ? { _meta: options.meta } : {}) }, opts),
      )
    },

    applyConfig() {
      return exclusive(reconcile)
    },
  }
}

/**
 * `mcpproxy servers ...`: through the running core when there is one; otherwise add, remove,
 * enable, disable, quarantine and unquarantine edit mcp_config.json (a core started later, or
 * one watching the file, picks the change up).
 */
import { Command } from 'commander'
import { AddServerSchema, type AddServerInput, type ServerInfo, type ToolChangeInfo, type ToolFindingInfo, type ToolInfo } from '../../shared/servers'
import { describeIssues, loadConfig, writeConfigFile } from '../../core/config/load'
import { ConfigSchema } from '../../core/config/schema'
import type { CliContext } from '../context'
import { CliError, usageError } from '../errors'
import { paint, printJson, printLine, renderTable } from '../output'

type Ctx = () => CliContext

const pairs =
  (sep: string) =>
  (value: string, previous: Record<string, string> | undefined): Record<string, string> => {
    const i = value.indexOf(sep)
    if (i <= 0) throw usageError(`expected KEY${sep}VALUE, got "${value}"`)
    return { ...previous, [value.slice(0, i).trim()]: value.slice(i + 1).trim() }
  }

function healthLabel(s: ServerInfo): string {
  const level = s.health?.level
  const text = s.health?.summary ?? s.state
  return level === 'healthy' ? paint.green(text) : level === 'degraded' ? paint.yellow(text) : paint.red(text)
}

/** Edits the config file's raw JSON (keeping the user's keys), validates the result, writes it. */
function editConfig(ctx: CliContext, mutate: (servers: Record<string, Record<string, unknown>>) => void): void {
  const loaded = loadConfig(ctx.dataDir)
  const raw = structuredClone(loaded.raw)
  const servers = (raw.mcpServers ??= {}) as Record<string, Record<string, unknown>>
  mutate(servers)
  const parsed = ConfigSchema.safeParse(raw)
  if (!parsed.success) throw new CliError(`the change would make the config invalid: ${describeIssues(parsed.error)}`, { code: 'CONFIG_INVALID' })
  writeConfigFile(ctx.paths.config, raw)
}

function requireEntry(servers: Record<string, unknown>, name: string): Record<string, unknown> {
  const entry = servers[name]
  if (!entry || typeof entry !== 'object') throw new CliError(`no server named "${name}" in mcp_config.json`, { code: 'NOT_FOUND' })
  return entry as Record<string, unknown>
}

/**
 * The command that does what a server's health asks for (the REST health `action`): a table
 * hint a user can run as it stands.
 */
export function healthCommand(s: Pick<ServerInfo, 'name' | 'quarantined' | 'health'>): string {
  switch (s.health?.action) {
    case 'approve':
      // a quarantined server is reviewed and released; on a trusted one, changed tools wait
      return s.quarantined ? `review: mcpproxy servers tools ${s.name}, then servers unquarantine ${s.name}` : `mcpproxy servers tools ${s.name}, then servers approve-tools ${s.name}`
    case 'enable':
      return `mcpproxy servers enable ${s.name}`
    case 'restart':
      return `mcpproxy servers restart ${s.name}`
    case 'view_logs':
      return `mcpproxy servers logs ${s.name}`
    case 'login':
      return `log in to ${s.name} (its URL asks for credentials: set headers in mcp_config.json)`
    default:
      return String(s.health?.action ?? '')
  }
}

export function serversCommand(getCtx: Ctx): Command {
  // positional: the `--` of `servers add NAME -- CMD` then reaches add's own parse (see below)
  const cmd = new Command('servers').description('upstream MCP servers').enablePositionalOptions()

  cmd
    .command('list')
    .description('servers with their state and health')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const ctx = getCtx()
      const core = await ctx.core()
      if (core) {
        const { servers } = await core.client.get<{ servers: ServerInfo[] }>('/servers')
        if (ctx.json || flags.json) return printJson(servers)
        if (!servers.length) return printLine(paint.dim('no servers configured'))
        printLine(
          renderTable(
            ['NAME', 'PROTOCOL', 'STATE', 'TOOLS', 'HEALTH'],
            servers.map((s) => [
              s.name,
              s.protocol,
              !s.enabled ? 'disabled' : s.quarantined ? paint.yellow('quarantined') : s.state,
              String(s.tool_count),
              healthLabel(s) + (s.health?.action ? paint.dim(` (${healthCommand(s)})`) : ''),
            ]),
          ),
        )
        return
      }
      const c = ctx.config()
      const entries = Object.entries(c?.config.mcpServers ?? {})
      const rows = entries.map(([name, s]) => ({
        name,
        protocol: 'command' in s ? 'stdio' : s.protocol,
        enabled: s.enabled,
        quarantined: s.quarantined !== false,
        target: 'command' in s ? [s.command, ...s.args].join(' ') : s.url,
      }))
      if (ctx.json || flags.json) return printJson(rows)
      process.stderr.write(paint.dim(`no core running: servers from ${ctx.paths.config}\n`))
      if (!rows.length) return printLine(paint.dim('no servers configured'))
      printLine(
        renderTable(
          ['NAME', 'PROTOCOL', 'ENABLED', 'QUARANTINED', 'COMMAND / URL'],
          rows.map((r) => [r.name, r.protocol, r.enabled ? 'yes' : 'no', r.quarantined ? paint.yellow('yes') : 'no', r.target]),
        ),
      )
    })

  // commander drops `--` from the operands; the words before it are counted here, as only the
  // name belongs there (`servers add bad name -- node x.js` must not run "name")
  let beforeDashDash: string[] | undefined
  const add = cmd.command('add')
  const parseOptions = add.parseOptions.bind(add)
  add.parseOptions = (argv) => {
    const parsed = parseOptions(argv)
    const at = argv.indexOf('--')
    // everything after `--` is an operand as it stands, at the end
    beforeDashDash = at < 0 ? undefined : parsed.operands.slice(0, Math.max(0, parsed.operands.length - (argv.length - at - 1)))
    return parsed
  }
  add
    .description('add a server (it starts quarantined): `servers add NAME -- CMD ARGS...` or `servers add NAME --url URL`')
    .argument('<name>', 'server name (letters, digits, _ . -)')
    .argument('[command...]', 'stdio command and its arguments, after --')
    .option('--url <url>', 'a remote server (streamable HTTP or SSE)')
    .option('--protocol <protocol>', 'http, sse or auto (remote servers)')
    .option('--header <name:value>', 'HTTP header, repeatable', pairs(':'))
    .option('--env <KEY=VALUE>', 'environment variable, repeatable', pairs('='))
    .option('--cwd <dir>', 'working directory of the command')
    .option('--disabled', 'add it disabled')
    .option('--json', 'print JSON')
    .action(async (name: string, command: string[], flags: { url?: string; protocol?: string; header?: Record<string, string>; env?: Record<string, string>; cwd?: string; disabled?: boolean; json?: boolean }) => {
      const ctx = getCtx()
      const stray = beforeDashDash?.slice(1) ?? []
      if (stray.length) throw usageError(`unexpected argument${stray.length > 1 ? 's' : ''} before --: ${stray.map((a) => `"${a}"`).join(' ')} (the server name is one word; the command goes after --)`)
      if (!command.length && !flags.url) throw usageError('give the server command after --, or --url')
      if (command.length && flags.url) throw usageError('give either a command or --url, not both')
      const input: AddServerInput = command.length
        ? { name, command: command[0], args: command.slice(1), env: flags.env, cwd: flags.cwd }
        : { name, url: flags.url, headers: flags.header, protocol: flags.protocol as AddServerInput['protocol'] }
      if (flags.disabled) input.enabled = false
      const parsed = AddServerSchema.safeParse(input)
      if (!parsed.success) throw usageError(describeIssues(parsed.error))
      const core = await ctx.core()
      if (core) {
        const { server } = await core.client.post<{ server: ServerInfo }>('/servers', parsed.data)
        if (ctx.json || flags.json) return printJson(server)
        printLine(`added ${server.name}${server.quarantined ? ' (quarantined: review its tools, then `mcpproxy servers unquarantine ' + server.name + '`)' : ''}`)
        return
      }
      editConfig(ctx, (servers) => {
        if (servers[name]) throw new CliError(`a server named "${name}" already exists`, { code: 'CONFLICT' })
        const { name: _n, ...entry } = parsed.data
        servers[name] = { ...Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)), quarantined: true }
      })
      if (ctx.json || flags.json) return printJson({ name, quarantined: true, config: ctx.paths.config })
      printLine(`added ${name} to ${ctx.paths.config} (quarantined until you run \`mcpproxy servers unquarantine ${name}\`)`)
    })

  const simple = (verb: string, description: string, rest: (name: string) => [string, unknown], edit: ((entry: Record<string, unknown>, servers: Record<string, unknown>, name: string) => void) | null, done: string): void => {
    cmd
      .command(verb)
      .description(description)
      .argument('<name>', 'server name')
      .option('--json', 'print JSON')
      .action(async (name: string, flags: { json?: boolean }) => {
        const ctx = getCtx()
        const core = await ctx.core()
        if (core) {
          const [path, body] = rest(name)
          const result = verb === 'remove' ? await core.client.delete(path) : await core.client.post(path, body)
          if (ctx.json || flags.json) return printJson(result)
          printLine(`${done} ${name}`)
          // releasing pins the tools that had no pin; a changed one stays blocked (upstream-manager): say what that means
          if (verb === 'unquarantine') {
            const still = (result as { server?: ServerInfo }).server?.changed_tools ?? []
            if (still.length) printLine(paint.yellow(`still blocked, changed since approval: ${still.join(', ')}: review with \`mcpproxy servers tools ${name}\`, then approve each by name`))
            printLine(paint.dim(`its new tools are pinned: a later change to one is blocked until \`mcpproxy servers approve-tools ${name} TOOL\``))
          }
          return
        }
        if (!edit) throw new CliError(`servers ${verb} needs a running mcpproxy core for ${ctx.dataDir} (start one with \`mcpproxy serve\` or the app)`, { code: 'NO_CORE' })
        editConfig(ctx, (servers) => edit(requireEntry(servers, name), servers, name))
        if (ctx.json || flags.json) return printJson({ name, config: ctx.paths.config })
        printLine(`${done} ${name} in ${ctx.paths.config}`)
      })
  }
  const p = (name: string): string => `/servers/${encodeURIComponent(name)}`
  simple('remove', 'remove a server', (n) => [p(n), undefined], (_e, servers, name) => delete servers[name], 'removed')
  simple('enable', 'enable a server', (n) => [`${p(n)}/enable`, {}], (e) => (e.enabled = true), 'enabled')
  simple('disable', 'disable a server', (n) => [`${p(n)}/disable`, {}], (e) => (e.enabled = false), 'disabled')
  simple('restart', 'restart a server (needs a running core)', (n) => [`${p(n)}/restart`, {}], null, 'restarted')
  simple('quarantine', 'quarantine a server: its tools are blocked', (n) => [`${p(n)}/quarantine`, { quarantined: true }], (e) => (e.quarantined = true), 'quarantined')
  simple('unquarantine', 'let calls reach a server again', (n) => [`${p(n)}/quarantine`, { quarantined: false }], (e) => (e.quarantined = false), 'unquarantined')

  cmd
    .command('tools')
    .description("a server's tools with their pin state, and definition changes waiting for approve-tools")
    .argument('<name>', 'server name')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      const ctx = getCtx()
      const core = await ctx.requireCore('servers tools')
      const res = await core.client.get<{ tools: ToolInfo[]; changes: ToolChangeInfo[]; findings?: ToolFindingInfo[] }>(`${p(name)}/tools`)
      if (ctx.json || flags.json) return printJson(res)
      if (!res.tools.length) printLine(paint.dim(`${name} lists no tools (yet)`))
      else {
        const pin = (t: ToolInfo): string => (t.pin_state === 'changed' ? paint.red('changed') : t.pin_state === 'new' ? paint.yellow('new') : (t.pin_state ?? ''))
        const flagged = new Set((res.findings ?? []).map((f) => f.tool))
        printLine(
          renderTable(
            ['TOOL', 'PIN', 'FINDINGS', 'DESCRIPTION'],
            res.tools.map((t) => [t.tool, pin(t), flagged.has(t.tool) ? paint.red(String(res.findings!.filter((f) => f.tool === t.tool).length)) : '', (t.description ?? '').replace(/\s+/g, ' ').slice(0, 60)]),
          ),
        )
      }
      const unchanged = (res.findings ?? []).filter((f) => !res.changes.some((c) => c.tool === f.tool))
      if (unchanged.length) {
        printLine(`\n${paint.red('tool-poisoning findings')}:`)
        for (const f of unchanged) printLine(`  ${f.tool}: (${f.severity}) ${f.kind}: ${f.detail}`)
      }
      for (const c of res.changes) {
        printLine(`\n${c.rejected_at ? paint.dim(`changed since approval, refused ${c.rejected_at}`) : paint.yellow('changed since approval')}: ${c.tool}`)
        for (const f of c.findings ?? []) printLine(`  ${paint.red(`finding (${f.severity}) ${f.kind}`)}: ${f.detail}`)
        for (const key of ['description', 'inputSchema', 'outputSchema', 'annotations']) {
          const before = JSON.stringify(c.old_definition?.[key])
          const after = JSON.stringify(c.new_definition[key])
          if (before !== after) printLine(`  ${key}:\n    - ${before ?? '(none)'}\n    + ${after ?? '(none)'}`)
        }
      }
      const waiting = res.changes.filter((c) => !c.rejected_at).map((c) => c.tool)
      if (waiting.length) printLine(paint.dim(`\napprove with: mcpproxy servers approve-tools ${name} ${waiting.join(' ')}\nor refuse with: mcpproxy servers reject-tools ${name} ${waiting.join(' ')}`))
    })

  cmd
    .command('logs')
    .description("the last lines of a server's stderr")
    .argument('<name>', 'server name')
    .option('--lines <n>', 'how many lines (1-10000)', '200')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { lines: string; json?: boolean }) => {
      const ctx = getCtx()
      const lines = Number(flags.lines)
      if (!Number.isInteger(lines) || lines < 1 || lines > 10_000) throw usageError('--lines: must be an integer from 1 to 10000')
      const core = await ctx.requireCore('servers logs')
      const res = await core.client.get<{ lines: string[] }>(`${p(name)}/logs`, { lines })
      if (ctx.json || flags.json) return printJson(res.lines)
      for (const line of res.lines) printLine(line)
    })

  cmd
    .command('approve-tools')
    .description("approve (pin) a server's current tool definitions: the named tools, or all that have no pin yet (a changed tool only by name)")
    .argument('<name>', 'server name')
    .argument('[tools...]', 'tool names (default: the tools with no pin yet)')
    .option('--json', 'print JSON')
    .action(async (name: string, tools: string[], flags: { json?: boolean }) => {
      const ctx = getCtx()
      const core = await ctx.requireCore('servers approve-tools')
      const res = await core.client.post<{ approved: string[]; still_changed?: string[] }>(`${p(name)}/tools/approve`, tools.length ? { tools } : {})
      if (ctx.json || flags.json) return printJson(res)
      printLine(res.approved.length ? `approved ${res.approved.length} tools of ${name}: ${res.approved.join(', ')}` : `nothing to approve for ${name}`)
      const still = res.still_changed ?? []
      if (still.length) printLine(paint.yellow(`still blocked, changed since approval: ${still.join(', ')}: approve each by name (mcpproxy servers approve-tools ${name} ${still.join(' ')}) or refuse it (servers reject-tools)`))
    })

  cmd
    .command('reject-tools')
    .description('refuse the changed definitions of the named tools: their approved definitions stay, and they stay blocked')
    .argument('<name>', 'server name')
    .argument('<tools...>', 'tool names')
    .option('--json', 'print JSON')
    .action(async (name: string, tools: string[], flags: { json?: boolean }) => {
      const ctx = getCtx()
      const core = await ctx.requireCore('servers reject-tools')
      const res = await core.client.post<{ rejected: string[] }>(`${p(name)}/tools/reject`, { tools })
      if (ctx.json || flags.json) return printJson(res)
      printLine(res.rejected.length ? `refused the changes of ${res.rejected.join(', ')} on ${name}: they stay blocked at their approved definitions` : `those changes of ${name} were already refused`)
    })

  return cmd
}

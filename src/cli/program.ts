/** The `mcpproxy` command tree (commander), with exit codes 0 ok, 1 error, 2 usage. */
import { Command, CommanderError } from 'commander'
import { isCoreError } from '../core/errors'
import { activityCommand } from './commands/activity'
import { approvalsCommand } from './commands/approvals'
import { serveCommand, stdioCommand, wrapCommand } from './commands/run'
import { serversCommand } from './commands/servers'
import { configCommand, doctorCommand, statusCommand } from './commands/status'
import { toolsCommand } from './commands/tools'
import { createContext, type BuiltWorkers, type CliContext, type GlobalOptions } from './context'
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './errors'
import { printError } from './output'

export interface ProgramOptions {
  version: string
  /** the built web UI that `serve` hands to the core */
  webUiDir: string
  /** the built worker entries (absent when running from sources, e.g. under vitest) */
  workers?: BuiltWorkers
}

export function createProgram(options: ProgramOptions): Command {
  const program = new Command('mcpproxy')
  let ctx: CliContext | undefined
  const getCtx = (): CliContext => (ctx ??= { ...createContext(program.opts<GlobalOptions>()), workers: options.workers })

  program
    .description('See, control and prove what your AI agents did through MCP.')
    .version(options.version, '-V, --version')
    .option('--data-dir <dir>', 'data directory (default: MCPPROXY_DATA_DIR, else ~/.mcpproxy)')
    .option('--json', 'machine-readable output where the output is data')
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })

  const add = (cmd: Command): void => {
    // subcommands built apart from `program` do not inherit these
    const apply = (c: Command): void => {
      c.exitOverride()
      c.showHelpAfterError('(run with --help for usage)')
      c.commands.forEach(apply)
    }
    apply(cmd)
    program.addCommand(cmd)
  }
  add(serveCommand(getCtx, options.webUiDir))
  add(stdioCommand(getCtx))
  add(wrapCommand(getCtx).passThroughOptions())
  add(statusCommand(getCtx))
  add(doctorCommand(getCtx))
  add(configCommand(getCtx))
  add(activityCommand(getCtx))
  add(serversCommand(getCtx))
  add(toolsCommand(getCtx))
  add(approvalsCommand(getCtx))
  program.addHelpText(
    'after',
    `
Examples:
  mcpproxy serve --listen 127.0.0.1:8080        run the proxy, REST API and web UI
  mcpproxy activity list --server github --status error --limit 20
  mcpproxy activity watch --type tool_call       follow calls as they happen
  mcpproxy activity export --format csv --start-time 7d --output audit.csv
  mcpproxy servers add github -- npx -y @modelcontextprotocol/server-github
  mcpproxy wrap --sensitive-tools read_secret -- node my-server.js

Exit codes: 0 ok, 1 error, 2 usage.`,
  )
  return program
}

/** Runs the command line; resolves with the exit code (commands may also set process.exitCode). */
export async function runCli(argv: string[], options: ProgramOptions): Promise<number> {
  const program = createProgram(options)
  try {
    await program.parseAsync(hoistDataDir(argv))
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK
  } catch (err) {
    return reportError(err)
  }
}

/**
 * `--data-dir` is a global option; users also write it after the command (`serve --data-dir D`).
 * Moves it in front of the command, leaving anything after `--` (a wrapped command's own
 * arguments) untouched.
 */
export function hoistDataDir(argv: readonly string[]): string[] {
  const head = argv.slice(0, 2)
  const rest = argv.slice(2)
  const end = rest.indexOf('--') === -1 ? rest.length : rest.indexOf('--')
  const hoisted: string[] = []
  const kept: string[] = []
  for (let i = 0; i < end; i++) {
    const a = rest[i]!
    if (a === '--data-dir' && i + 1 < end) hoisted.push(a, rest[++i]!)
    else if (a.startsWith('--data-dir=')) hoisted.push(a)
    else kept.push(a)
  }
  return [...head, ...hoisted, ...kept, ...rest.slice(end)]
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
    // commander already printed its message
    return EXIT_USAGE
  }
  if (err instanceof CliError) {
    printError(err.message)
    return err.exitCode
  }
  if (isCoreError(err)) {
    printError(err.message)
    return EXIT_ERROR
  }
  const e = err as Error
  printError(e?.message ?? String(err))
  if (process.env.MCPPROXY_DEBUG && e?.stack) process.stderr.write(e.stack + '\n')
  return EXIT_ERROR
}

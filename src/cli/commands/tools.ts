/** `mcpproxy tools search QUERY`. */
import { Command } from 'commander'
import type { ToolInfo } from '../../shared/servers'
import type { CliContext } from '../context'
import { usageError } from '../errors'
import { paint, printJson, printLine, renderTable } from '../output'

export function toolsCommand(getCtx: () => CliContext): Command {
  const cmd = new Command('tools').description('tools of the upstream servers')
  cmd
    .command('search')
    .description('search tools by name and description (BM25)')
    .argument('<query...>', 'search words')
    .option('--limit <n>', 'results (1-100)', '15')
    .option('--json', 'print JSON')
    .action(async (query: string[], flags: { limit: string; json?: boolean }) => {
      const ctx = getCtx()
      const limit = Number(flags.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw usageError('--limit: must be an integer from 1 to 100')
      const core = await ctx.requireCore('tools search')
      const { tools } = await core.client.get<{ tools: ToolInfo[] }>('/tools', { q: query.join(' '), limit })
      if (ctx.json || flags.json) return printJson(tools)
      if (!tools.length) return printLine(paint.dim('no tools match'))
      const oneLine = (s: string | undefined): string => {
        const t = (s ?? '').replace(/\s+/g, ' ').trim()
        return t.length > 70 ? t.slice(0, 69) + '…' : t
      }
      printLine(renderTable(['TOOL', 'DESCRIPTION'], tools.map((t) => [t.name, oneLine(t.description)])))
    })
  return cmd
}

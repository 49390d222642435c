/** `mcpproxy approvals list|approve|deny`: calls waiting for a person's decision (needs a running core). */
import { Command } from 'commander'
import type { ApprovalDecision, ApprovalInfo } from '../../shared/servers'
import type { CliContext } from '../context'
import { formatClock, paint, printJson, printLine, renderTable } from '../output'
import { intentLabel } from '../format-activity'

export function approvalsCommand(getCtx: () => CliContext): Command {
  const cmd = new Command('approvals').description('tool calls waiting for approval')
  cmd
    .command('list')
    .description('pending approvals with their arguments')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const ctx = getCtx()
      const core = await ctx.requireCore('approvals')
      const { approvals } = await core.client.get<{ approvals: ApprovalInfo[] }>('/approvals')
      if (ctx.json || flags.json) return printJson(approvals)
      if (!approvals.length) return printLine(paint.dim('no calls are waiting for approval'))
      const args = (a: unknown): string => {
        const t = JSON.stringify(a) ?? ''
        return t.length > 60 ? t.slice(0, 59) + '…' : t
      }
      printLine(
        renderTable(
          ['ID', 'TOOL', 'INTENT', 'ARGUMENTS', 'REASON', 'EXPIRES'],
          approvals.map((a) => [a.id, `${a.server}:${a.tool}`, intentLabel(a.intent), args(a.arguments), a.reason ?? a.rule ?? '', formatClock(a.expires_at)]),
        ),
      )
    })
  const decide = (verb: 'approve' | 'deny', done: string): void => {
    cmd
      .command(verb)
      .description(`${verb} a waiting call`)
      .argument('<id>', 'approval id (from `approvals list`)')
      .option('--json', 'print JSON')
      .action(async (id: string, flags: { json?: boolean }) => {
        const ctx = getCtx()
        const core = await ctx.requireCore('approvals')
        const decision: ApprovalDecision = verb
        const result = await core.client.post<ApprovalInfo>(`/approvals/${encodeURIComponent(id)}`, { decision })
        if (ctx.json || flags.json) return printJson(result)
        printLine(`${done} ${result?.server ?? ''}${result?.tool ? ':' + result.tool : ''} (${id})`)
      })
  }
  decide('approve', 'approved')
  decide('deny', 'denied')
  return cmd
}

import { ApprovalDecisionSchema } from '../../../shared/servers'
import { CoreError } from '../../errors'
import { actorOf, IdParams, ok, type HttpContext, type ZodApp } from '../context'

export function registerSessionRoutes(app: ZodApp, ctx: HttpContext): void {
  const { core } = ctx
  app.get('/sessions', { schema: { tags: ['sessions'], summary: 'MCP sessions' } }, async () => ok({ sessions: core.sessions.list() }))
  app.get('/sessions/:id', { schema: { tags: ['sessions'], summary: 'One MCP session', params: IdParams } }, async (req) => {
    const s = core.sessions.get(req.params.id)
    if (!s) throw new CoreError('NOT_FOUND', `session "${req.params.id}" not found`)
    return ok(s)
  })

  app.get('/approvals', { schema: { tags: ['approvals'], summary: 'Calls waiting for a human decision' } }, async () => ok({ approvals: core.approvals.list() }))
  app.post(
    '/approvals/:id',
    { schema: { tags: ['approvals'], summary: 'Approve or deny a waiting call', params: IdParams, body: ApprovalDecisionSchema } },
    async (req) => ok(core.approvals.decide(req.params.id, req.body.decision, actorOf(req))),
  )
}

import { z } from 'zod'
import { actorOf, ok, type HttpContext, type ZodApp } from '../context'

const ConfigBody = z.record(z.string(), z.unknown()).describe('a whole mcp_config.json object')

export function registerConfigRoutes(app: ZodApp, ctx: HttpContext): void {
  const { config } = ctx.core
  const tags = ['config']
  app.get('/config', { schema: { tags, summary: 'The running configuration, secrets masked' } }, async () => ok({ config: config.masked() }))
  app.post('/config/validate', { schema: { tags, summary: 'Validate a configuration without applying it', body: ConfigBody } }, async (req) =>
    ok(config.validate(req.body)),
  )
  app.post('/config/apply', { schema: { tags, summary: 'Validate, write and apply a configuration', body: ConfigBody } }, async (req) => {
    await config.apply(req.body, actorOf(req))
    return ok({ config: config.masked() })
  })
}

import { z } from 'zod'
import type { HttpContext, ZodApp } from '../context'

const ToolsQuery = z.object({
  q: z.string().max(500).default(''),
  limit: z.coerce.number().int().min(1).max(100).default(15),
})

export function registerToolRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get('/tools', { schema: { tags: ['tools'], summary: 'Search tools across all servers', querystring: ToolsQuery } }, async (req) => ({
    tools: ctx.core.tools.search(req.query.q, req.query.limit),
  }))
}

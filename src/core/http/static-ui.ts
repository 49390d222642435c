/** Serves the built web UI at /ui/ (index.html for client-side routes) and redirects / there. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { sendError } from './errors'

/** A default for the UI's pages; the renderer may ask the lead for more. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

export async function registerStaticUi(app: FastifyInstance, webUiDir: string | undefined): Promise<void> {
  app.get('/', { schema: { hide: true } }, async (req, reply) => {
    const q = req.url.indexOf('?')
    return reply.redirect(`/ui/${q >= 0 ? req.url.slice(q) : ''}`)
  })
  const built = webUiDir !== undefined && existsSync(join(webUiDir, 'index.html'))
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_req, reply, payload) => {
      reply.header('content-security-policy', UI_CSP)
      return payload
    })
    if (!built) {
      scope.get('/*', { schema: { hide: true } }, async (_req, reply) => sendError(reply, 404, 'NOT_FOUND', 'the web UI is not built (run `npm run build`)'))
      return
    }
    await scope.register(fastifyStatic, { root: webUiDir, prefix: '/', index: ['index.html'], redirect: true, wildcard: true, schemaHide: true })
    // client-side routes (/ui/activity) get the app shell; missing assets stay 404
    scope.setNotFoundHandler((req, reply) => {
      const path = req.url.split('?')[0] ?? ''
      if (req.method === 'GET' && path.startsWith('/ui/') && !/\.[a-z0-9]+$/i.test(path)) {
        return reply.type('text/html; charset=utf-8').sendFile('index.html')
      }
      return sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${path}`)
    })
  }, { prefix: '/ui' })
}

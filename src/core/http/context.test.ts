import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../logger'
import { actorOf } from './context'
import { listenUnixSocket } from './unix-socket'

const request = (headers: Record<string, string>, raw: object = {}): FastifyRequest => ({ headers, raw }) as unknown as FastifyRequest

describe('actorOf', () => {
  it('names the way a REST change came in: the web UI, the CLI on the socket, or another client', async () => {
    expect(actorOf(request({ origin: 'http://127.0.0.1:8080' }))).toBe('web-ui')
    expect(actorOf(request({}))).toBe('api')
    // a request the socket server handled carries its mark
    const dir = mkdtempSync(join(tmpdir(), 'actor-'))
    const path = join(dir, 's.sock')
    let seen: string | undefined
    const server = await listenUnixSocket(
      path,
      (req, res) => {
        seen = actorOf(request({}, req))
        res.end()
      },
      silentLogger,
    )
    try {
      await new Promise<void>((resolve) => httpRequest({ socketPath: path, path: '/' }, (res) => (res.resume(), res.on('end', () => resolve()))).end())
    } finally {
      server?.close()
      rmSync(dir, { recursive: true, force: true })
    }
    expect(seen).toBe('cli')
  })
})

/** The data dir's Unix socket: the same app, no API key (the file mode 0600 is the auth). */
import { chmodSync, existsSync, unlinkSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import { connect } from 'node:net'
import type { Duplex } from 'node:stream'
import { CoreError } from '../errors'
import type { Logger } from '../logger'

const VIA_SOCKET = Symbol('mcpproxy.viaSocket')

export function viaSocket(req: IncomingMessage): boolean {
  return (req as IncomingMessage & { [VIA_SOCKET]?: boolean })[VIA_SOCKET] === true
}

/** Resolves true when something answers on the socket (another core owns it). */
export function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** GETs `path` from the core behind the socket and parses its JSON answer; null when none answers (within timeoutMs). */
export function getJsonOverSocket(socketPath: string, path: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null)
        } catch {
          resolve(null)
        }
      })
      res.on('error', () => resolve(null))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(null))
    req.end()
  })
}

/**
 * Listens on `path`; returns null (and logs why) when it cannot, since TCP still serves. Throws
 * CONFLICT when another core answers on it: two cores that both passed the start check would
 * otherwise both run, one of them unreachable for `mcpproxy stdio` and the CLI.
 */
export async function listenUnixSocket(
  path: string,
  handler: RequestListener,
  logger: Logger,
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<Server | null> {
  if (process.platform === 'win32') return null
  if (existsSync(path)) {
    if (await socketInUse(path)) throw new CoreError('CONFLICT', `another mcpproxy core is already running on ${path}`)
    unlinkSync(path)
  }
  const server = createServer((req, res) => {
    ;(req as IncomingMessage & { [VIA_SOCKET]?: boolean })[VIA_SOCKET] = true
    handler(req, res)
  })
  if (onUpgrade) server.on('upgrade', onUpgrade)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      // created with mode 0600 from the start: no window where another user could connect
      const old = process.umask(0o177)
      try {
        server.listen(path, () => resolve())
      } finally {
        process.umask(old)
      }
    })
    chmodSync(path, 0o600)
    return server
  } catch (err) {
    logger.warn('cannot listen on the socket', { socket: path, error: (err as Error).message })
    return null
  }
}

/**
 * Stops listening and ends the socket's connections. The socket file goes when listening stops
 * (libuv unlinks it then): removing it again once the connections have ended could remove the
 * socket of the core that took over meanwhile.
 */
export async function closeUnixSocket(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

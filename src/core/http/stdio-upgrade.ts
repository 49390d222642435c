/**
 * Stdio sessions over the data dir's socket: `mcpproxy stdio` bridges its client here
 * (`GET /mcp/stdio`, `Upgrade: mcpproxy-stdio`), and the upgraded connection is then served
 * exactly as the core serves its own stdin and stdout (newline-delimited JSON-RPC). Only the
 * socket takes it: its file mode is the authentication, so the client's pid and executable the
 * bridge names are taken as they are.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ClientInfo } from '../../shared/activity'
import type { Core } from '../core-types'
import type { Logger } from '../logger'
import { CLIENT_EXE_HEADER, CLIENT_PID_HEADER, STDIO_DRAINING_METHOD, STDIO_UPGRADE_PATH, STDIO_UPGRADE_PROTOCOL } from '../proxy/stdio-bridge'

export interface StdioUpgrades {
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /**
   * The core is stopping: each bridge is told so, sends nothing more, and ends its session once
   * its calls in flight are answered (then moves to the next core); new sessions are refused.
   * Resolves when every session has ended, or after timeoutMs.
   */
  drain(timeoutMs: number): Promise<void>
  /**
   * From now on sessions are served: until then (the core is starting its upstreams) they are
   * upgraded and held, so a client's first tools/list already sees the upstreams' tools.
   */
  accept(): void
  /** ends every bridged session at once: their bridges reconnect to the next core */
  closeAll(): void
  count(): number
}

function refuse(socket: Duplex, status: string, text: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
}

export function createStdioUpgrades(core: Pick<Core, 'mcp'>, logger: Logger): StdioUpgrades {
  const open = new Set<Duplex>()
  let accepting = false
  /** sessions upgraded before accept(), served then */
  const held: Array<{ socket: Duplex; serve: () => void }> = []
  let draining = false
  let drained: (() => void) | null = null
  return {
    onUpgrade(req, socket, head) {
      socket.on('error', (err: Error) => logger.debug('bridged stdio connection error', { error: err.message }))
      const path = (req.url ?? '').split('?')[0]
      if (req.method !== 'GET' || path !== STDIO_UPGRADE_PATH || String(req.headers.upgrade ?? '').toLowerCase() !== STDIO_UPGRADE_PROTOCOL) {
        return refuse(socket, '400 Bad Request', `only GET ${STDIO_UPGRADE_PATH} with Upgrade: ${STDIO_UPGRADE_PROTOCOL} is upgraded\n`)
      }
      if (draining) return refuse(socket, '503 Service Unavailable', 'the core is stopping\n')
      const pid = Number(req.headers[CLIENT_PID_HEADER])
      if (!Number.isSafeInteger(pid) || pid <= 0) return refuse(socket, '400 Bad Request', `${CLIENT_PID_HEADER}: the client's process id is required\n`)
      const exe = req.headers[CLIENT_EXE_HEADER]
      const client: ClientInfo = { pid, ...(typeof exe === 'string' && exe ? { exe } : {}) }
      // what the bridge sends waits in the socket until the session reads it (StdioLineTransport.start)
      socket.pause()
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${STDIO_UPGRADE_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`)
      if (head.length) socket.unshift(head)
      open.add(socket)
      const serve = (): void => {
        if (socket.destroyed) {
          open.delete(socket)
          return
        }
        core.mcp
          .serveStdio(socket, socket, client)
          .catch((err: Error) => logger.warn('bridged stdio session failed', { error: err.message }))
          .finally(() => {
            open.delete(socket)
            socket.end()
            if (open.size === 0) drained?.()
          })
      }
      if (accepting) serve()
      else held.push({ socket, serve })
    },
    accept() {
      accepting = true
      for (const { serve } of held.splice(0)) serve()
    },
    async drain(timeoutMs) {
      draining = true
      // sessions never served have nothing in flight: their bridges take what they sent to the next core
      for (const { socket } of held.splice(0)) {
        open.delete(socket)
        socket.destroy()
      }
      if (open.size === 0) return
      const line = JSON.stringify({ jsonrpc: '2.0', method: STDIO_DRAINING_METHOD }) + '\n'
      for (const s of open) s.write(line)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs)
        drained = () => {
          clearTimeout(t)
          resolve()
        }
      })
      logger.info('bridged stdio sessions drained', { left: open.size })
    },
    closeAll() {
      for (const s of open) s.destroy()
      open.clear()
    },
    count: () => open.size,
  }
}

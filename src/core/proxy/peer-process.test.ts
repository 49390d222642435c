import { spawn } from 'node:child_process'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lookupPeerProcess } from './peer-process'

describe.runIf(process.platform === 'linux')('lookupPeerProcess', () => {
  let server: Server
  let port: number
  const accepted: Socket[] = []
  const next = (): Promise<Socket> => new Promise((resolve) => server.once('connection', resolve))

  beforeAll(async () => {
    server = createServer((s) => accepted.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as { port: number }).port
  })
  afterAll(async () => {
    accepted.forEach((s) => s.destroy())
    await new Promise((r) => server.close(r))
  })

  it('finds this process, then a child, then this process again (recent peers are tried first, never trusted)', async () => {
    const first = next()
    const own = connect(port, '127.0.0.1')
    const ours = await first
    expect(await lookupPeerProcess(ours.remotePort!, port)).toEqual({ pid: process.pid, exe: process.execPath })

    const second = next()
    const child = spawn(process.execPath, ['-e', `require('net').connect(${port}, '127.0.0.1'); setInterval(() => {}, 1000)`], { stdio: 'ignore' })
    try {
      const theirs = await second
      expect(await lookupPeerProcess(theirs.remotePort!, port)).toEqual({ pid: child.pid, exe: process.execPath })
      expect(await lookupPeerProcess(ours.remotePort!, port)).toEqual({ pid: process.pid, exe: process.execPath })
    } finally {
      child.kill()
      own.destroy()
    }
  })

  it('answers undefined for a connection that does not exist', async () => {
    expect(await lookupPeerProcess(1, 2)).toBeUndefined()
  })
})

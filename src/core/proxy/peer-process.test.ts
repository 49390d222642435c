import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { isStdioBridge, lookupPeerProcess, parentProcess } from './peer-process'

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

describe.runIf(process.platform === 'linux')('parentProcess and isStdioBridge', () => {
  it('names the parent of a process, and takes only an `mcpproxy ... stdio` command line for a bridge', async () => {
    expect(await parentProcess(process.pid)).toEqual({ pid: process.ppid, exe: expect.any(String) })
    expect(await isStdioBridge(process.pid)).toBe(false)
    const fake = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '/opt/x/mcpproxy.js', 'stdio'], { stdio: 'ignore' })
    const claims = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'stdio', 'not-mcpproxy.js'], { stdio: 'ignore' })
    try {
      // (until each child has exec'd: its command line is there)
      await vi.waitFor(async () => expect(await isStdioBridge(fake.pid!)).toBe(true), { timeout: 10_000 })
      await vi.waitFor(() => expect(readFileSync(`/proc/${claims.pid}/cmdline`, 'utf8')).toContain('not-mcpproxy.js'), { timeout: 10_000 })
      expect(await isStdioBridge(claims.pid!)).toBe(false)
      expect(await parentProcess(fake.pid!)).toEqual({ pid: process.pid, exe: process.execPath })
    } finally {
      fake.kill()
      claims.kill()
    }
  })
})

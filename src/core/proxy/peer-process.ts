import { readFile, readdir, readlink } from 'node:fs/promises'

export interface PeerProcess {
  pid: number
  exe?: string
}

function inodeOf(table: string, peerPort: number, ourPort: number): string | undefined {
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols.length < 10) continue
    const local = parseInt(cols[1]!.split(':')[1]!, 16)
    const remote = parseInt(cols[2]!.split(':')[1]!, 16)
    if (local === peerPort && remote === ourPort && cols[9] !== '0') return cols[9]
  }
  return undefined
}

/**
 * The local process at the other end of a loopback TCP connection, on Linux: finds the socket's
 * inode in /proc/net/tcp{,6} by its ports, then the process holding that inode open. Slow
 * (scans /proc), so callers ask once per session, off the call path. Undefined elsewhere.
 */
export async function lookupPeerProcess(peerPort: number, ourPort: number): Promise<PeerProcess | undefined> {
  if (process.platform !== 'linux') return undefined
  let inode: string | undefined
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const table = await readFile(file, 'utf8').catch(() => '')
    inode = inodeOf(table, peerPort, ourPort)
    if (inode) break
  }
  if (!inode) return undefined
  const target = `socket:[${inode}]`
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d))
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
      if (link === target) {
        const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined)
        return { pid: Number(pid), exe }
      }
    }
  }
  return undefined
}

/** The executable of a process by pid, where the OS tells it. */
export async function processExe(pid: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined
  return readlink(`/proc/${pid}/exe`).catch(() => undefined)
}

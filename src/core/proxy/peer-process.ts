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

// clients tend to open session after session from the same process: look there first
const recentPeers: number[] = []
const RECENT_MAX = 8

async function holdsSocket(pid: string, target: string): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])
  for (const fd of fds) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === target) return true
  }
  return false
}

/**
 * The local process at the other end of a loopback TCP connection, on Linux: finds the socket's
 * inode in /proc/net/tcp{,6} by its ports, then the process holding that inode open (the last
 * few peers first, then every process). A full scan is slow, so callers ask once per session,
 * off the call path. Undefined elsewhere.
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
  const recent = recentPeers.map(String)
  const others = (await readdir('/proc')).filter((d) => /^\d+$/.test(d) && !recent.includes(d))
  for (const pid of [...recent, ...others]) {
    if (!(await holdsSocket(pid, target))) continue
    const n = Number(pid)
    const at = recentPeers.indexOf(n)
    if (at >= 0) recentPeers.splice(at, 1)
    recentPeers.unshift(n)
    recentPeers.length = Math.min(recentPeers.length, RECENT_MAX)
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined)
    return { pid: n, exe }
  }
  return undefined
}

/** The executable of a process by pid, where the OS tells it. */
export async function processExe(pid: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined
  return readlink(`/proc/${pid}/exe`).catch(() => undefined)
}

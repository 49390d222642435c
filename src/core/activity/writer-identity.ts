/**
 * Which process wrote a pending record, so that the orphan sweep can complete the pending
 * records of a process that is gone (killed, crashed) at once instead of after both timeouts.
 * A process is its pid and, where the OS tells it (Linux), its start time: a pid the OS gave to
 * another process since is not taken for the writer. Elsewhere a live pid counts as the writer
 * (the sweep then waits for the timeouts, as it did before).
 */
import { randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'

export interface WriterIdentity {
  /** random per thread that writes: the activity_writer row */
  id: number
  pid: number
  /** the process's start time (clock ticks since boot, from /proc), null where unknown */
  started: string | null
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces and parentheses). */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

export const thisWriter: WriterIdentity = { id: randomInt(1, 2 ** 47), pid: process.pid, started: processStartTime(process.pid) }

/** True when the process that registered as `pid` (started at `started`) no longer runs. */
export function writerGone(pid: number, started: string | null): boolean {
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: it runs, as another user
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
  if (started === null) return false
  const now = processStartTime(pid)
  return now !== null && now !== started
}

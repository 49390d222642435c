/**
 * `serve` records where it listens in `<data dir>/runtime.json`, so CLI commands find a core
 * started with `--listen` (which the config does not know). Stale files (dead pid) are ignored.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const RUNTIME_FILE = 'runtime.json'

export interface RuntimeInfo {
  pid: number
  listen: string
  mcp_url?: string
  web_ui_url?: string
  started_at: string
}

/** whether a process with this pid exists */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function readRuntimeFile(dataDir: string): RuntimeInfo | null {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, RUNTIME_FILE), 'utf8')) as RuntimeInfo
    if (typeof info.pid !== 'number' || typeof info.listen !== 'string' || !pidAlive(info.pid)) return null
    return info
  } catch {
    return null
  }
}

export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): void {
  writeFileSync(join(dataDir, RUNTIME_FILE), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 })
}

export function removeRuntimeFile(dataDir: string, pid: number = process.pid): void {
  // only the process that wrote it removes it
  if (readRuntimeFile(dataDir)?.pid === pid) rmSync(join(dataDir, RUNTIME_FILE), { force: true })
}

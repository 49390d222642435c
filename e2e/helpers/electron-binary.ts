import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The Electron executable, found without `require('electron')` (which would try to download it). */
export function electronBinary(): string | null {
  if (process.env.ELECTRON_BIN) return existsSync(process.env.ELECTRON_BIN) ? process.env.ELECTRON_BIN : null
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
    const p = join(process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(dir, 'dist'), readFileSync(join(dir, 'path.txt'), 'utf8').trim())
    return existsSync(p) ? p : null
  } catch {
    return null
  }
}

export const NO_ELECTRON_REASON =
  'No Electron binary: node_modules/electron/dist is absent (its download host is unreachable here). Set ELECTRON_BIN to run the Electron tests.'

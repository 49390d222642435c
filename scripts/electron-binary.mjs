// Finds the Electron executable without `require('electron')`, which would try to download it.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** @returns {string | null} */
export function electronBinary() {
  if (process.env.ELECTRON_BIN) return existsSync(process.env.ELECTRON_BIN) ? process.env.ELECTRON_BIN : null
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
    const p = join(process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(dir, 'dist'), readFileSync(join(dir, 'path.txt'), 'utf8').trim())
    return existsSync(p) ? p : null
  } catch {
    return null
  }
}

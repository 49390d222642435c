import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from './logger'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('createLogger', () => {
  it('writes JSON lines at and above its level to a file only its owner can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logger-'))
    dirs.push(dir)
    const file = join(dir, 'core.log')
    const log = createLogger({ file, scope: 'core', level: 'info' })
    log.debug('not written')
    log.info('started', { port: 8080 })
    log.child('activity').warn('slow')
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['info', 'started'],
      ['warn', 'slow'],
    ])
    expect(lines[0]).toMatchObject({ scope: 'core', port: 8080 })
    expect(lines[1]!.scope).toBe('core.activity')
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600)
  })
})

/**
 * Proves electron-builder.yml without an Electron download: packs `--dir` against a stand-in
 * Electron folder, then reads the asar. Needs `npm run build` first (npm test runs it).
 */
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const require = createRequire(import.meta.url)
const asar = require('@electron/asar') as { listPackage(file: string, options: object): string[]; extractFile(file: string, path: string): Buffer }

const root = process.cwd()
const work = mkdtempSync(join(tmpdir(), 'mcpproxy-pack-'))
const stub = join(work, 'electron-stub')
const output = join(work, 'dist')

function makeStubElectron(): void {
  mkdirSync(join(stub, 'resources'), { recursive: true })
  const electronVersion = (require('electron/package.json') as { version: string }).version
  writeFileSync(join(stub, 'electron'), '#!/bin/sh\necho stand-in electron\n')
  chmodSync(join(stub, 'electron'), 0o755)
  writeFileSync(join(stub, 'version'), electronVersion)
  writeFileSync(join(stub, 'LICENSE'), 'stand-in')
  writeFileSync(join(stub, 'LICENSES.chromium.html'), '<html></html>')
}

describe('electron-builder packaging (--dir, stand-in Electron)', () => {
  let appDir: string
  let asarFile: string

  beforeAll(async () => {
    expect(existsSync(join(root, 'out/main/index.js')), 'run `npm run build` before this test').toBe(true)
    makeStubElectron()
    await run(
      process.execPath,
      [
        join(root, 'node_modules/electron-builder/cli.js'),
        '--dir',
        '--linux',
        '--publish',
        'never',
        '-c.npmRebuild=false',
        `-c.electronDist=${stub}`,
        `-c.directories.output=${output}`,
      ],
      { cwd: root, env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false' }, maxBuffer: 16 * 1024 * 1024 },
    )
    appDir = join(output, 'linux-unpacked')
    asarFile = join(appDir, 'resources', 'app.asar')
  }, 180_000)

  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it('produces the unpacked app with an asar holding the built main, preload and renderer', () => {
    expect(existsSync(asarFile)).toBe(true)
    const files = asar.listPackage(asarFile, { isPack: false }).map((f) => f.replace(/\\/g, '/'))
    expect(files).toContain('/out/main/index.js')
    // the core's worker threads (src/main/core-workers.ts)
    for (const worker of ['activity-writer-worker', 'activity-import-worker', 'activity-read-worker']) expect(files).toContain(`/out/main/${worker}.js`)
    expect(files).toContain('/out/preload/index.cjs')
    expect(files).toContain('/out/renderer/index.html')
    expect(files).toContain('/package.json')
    // sources, tests and dev tooling stay out of the package
    expect(files.some((f) => f.startsWith('/src/'))).toBe(false)
    expect(files.some((f) => f.startsWith('/node_modules/vitest'))).toBe(false)
    expect(files.some((f) => f.startsWith('/node_modules/electron/'))).toBe(false)
    const pkg = JSON.parse(asar.extractFile(asarFile, 'package.json').toString()) as { main: string }
    expect(pkg.main).toBe('./out/main/index.js')
  })

  it('keeps better-sqlite3 and its native binary unpacked beside the asar', () => {
    const native = join(appDir, 'resources', 'app.asar.unpacked', 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
    expect(existsSync(native)).toBe(true)
    // an ELF shared object, not a stub
    expect(readFileSync(native).subarray(0, 4).toString('latin1')).toBe('\x7fELF')
  })

  it('ships the tray icons as extra resources', () => {
    for (const state of ['normal', 'attention', 'error']) {
      expect(existsSync(join(appDir, 'resources', 'tray', `tray-${state}.png`))).toBe(true)
      expect(existsSync(join(appDir, 'resources', 'tray', `tray-${state}Template.png`))).toBe(true)
    }
  })
})

import { _electron as electron, expect, test, type ElectronApplication } from '@playwright/test'
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { electronBinary, NO_ELECTRON_REASON } from './helpers/electron-binary'

const bin = electronBinary()
if (!bin) console.warn(`[electron e2e] skipped: ${NO_ELECTRON_REASON}`)

test.describe('Electron app', () => {
  test.skip(!bin, NO_ELECTRON_REASON)
  let app: ElectronApplication
  let dataDir: string

  test.beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mcpproxy-electron-'))
    mkdirSync(dataDir, { recursive: true })
    const everything = resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js')
    writeFileSync(
      join(dataDir, 'mcp_config.json'),
      JSON.stringify({
        listen: '127.0.0.1:0',
        api_key: 'electron-e2e-key-0123456789',
        mcpServers: {
          everything: { command: process.execPath, args: [everything, 'stdio'], quarantined: false },
          newcomer: { command: process.execPath, args: [everything, 'stdio'] },
        },
      }),
    )
    app = await electron.launch({ executablePath: bin!, args: ['out/main/index.js', '--no-sandbox', '--data-dir', dataDir] })
  })

  test.afterAll(async () => {
    await app?.close()
  })

  test('opens the window with a locked-down renderer', async () => {
    const page = await app.firstWindow()
    await expect(page.getByRole('heading', { name: /activity/i }).first()).toBeVisible({ timeout: 30_000 })
    // no Node in the page, and only the contract's two functions on the bridge
    const surface = await page.evaluate(() => {
      const g = globalThis as unknown as { require?: unknown; process?: unknown; mcpproxy?: Record<string, unknown> }
      return { require: typeof g.require, process: typeof g.process, bridge: Object.keys(g.mcpproxy ?? {}).sort() }
    })
    expect(surface).toEqual({ require: 'undefined', process: 'undefined', bridge: ['invoke', 'on'] })
  })

  test('shows a quarantined server and approves it', async () => {
    const page = await app.firstWindow()
    await page.getByRole('link', { name: /servers/i }).first().click()
    await expect(page.getByText('newcomer')).toBeVisible({ timeout: 30_000 })
    await page.getByRole('button', { name: /approve/i }).first().click()
    const config = JSON.parse(readFileSync(join(dataDir, 'mcp_config.json'), 'utf8')) as { mcpServers: Record<string, { quarantined?: boolean }> }
    await expect.poll(() => JSON.parse(readFileSync(join(dataDir, 'mcp_config.json'), 'utf8')).mcpServers.newcomer.quarantined).toBe(false)
    expect(config.mcpServers.everything!.quarantined).toBe(false)
  })
})

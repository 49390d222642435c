import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { electronBinary, NO_ELECTRON_REASON } from './helpers/electron-binary'

const bin = electronBinary()
if (!bin) console.warn(`[electron e2e] skipped: ${NO_ELECTRON_REASON}`)

interface TrayItem {
  label?: string
  submenu?: TrayItem[]
}
interface E2EHooks {
  tray(): { icon: string; menu: TrayItem[] } | null
}

test.describe('Electron app', () => {
  test.skip(!bin, NO_ELECTRON_REASON)
  let app: ElectronApplication
  let page: Page
  let dataDir: string
  const apiKey = 'electron-e2e-key-0123456789'

  const readConfig = () => JSON.parse(readFileSync(join(dataDir, 'mcp_config.json'), 'utf8')) as { mcpServers: Record<string, { quarantined?: boolean }> }
  const tray = () => app.evaluate(() => (globalThis as unknown as { __mcpproxyE2E: E2EHooks }).__mcpproxyE2E.tray())

  test.beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mcpproxy-electron-'))
    const everything = resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js')
    writeFileSync(
      join(dataDir, 'mcp_config.json'),
      JSON.stringify({
        listen: '127.0.0.1:0',
        api_key: apiKey,
        mcpServers: {
          everything: { command: process.execPath, args: [everything, 'stdio'], quarantined: false },
          newcomer: { command: process.execPath, args: [everything, 'stdio'] },
        },
      }),
    )
    app = await electron.launch({
      executablePath: bin!,
      args: ['out/main/index.js', '--no-sandbox', '--data-dir', dataDir],
      env: { ...process.env, MCPPROXY_E2E: '1', ELECTRON_RUN_AS_NODE: '' },
    })
    page = await app.firstWindow()
  })

  test.afterAll(async () => {
    await app?.close()
  })

  test('opens a locked-down window', async () => {
    await expect(page.getByRole('link', { name: 'Activity' })).toBeVisible({ timeout: 30_000 })
    const surface = await page.evaluate(() => {
      const g = globalThis as unknown as { require?: unknown; process?: unknown; mcpproxy?: Record<string, unknown> }
      return { require: typeof g.require, process: typeof g.process, bridge: Object.keys(g.mcpproxy ?? {}).sort() }
    })
    expect(surface).toEqual({ require: 'undefined', process: 'undefined', bridge: ['invoke', 'on'] })
  })

  test('the tray shows status and the quarantined server needs attention', async () => {
    await expect.poll(async () => (await tray())?.icon, { timeout: 30_000 }).toBe('attention')
    const menu = (await tray())!.menu
    expect(menu[0]!.label).toMatch(/servers connected/)
    const attention = menu.find((i) => i.label?.startsWith('Needs attention'))
    expect(attention?.submenu?.map((i) => i.label)).toContain('newcomer is quarantined — Review…')
  })

  test('a call made through the MCP endpoint appears in the window and the tray', async () => {
    const info = (await page.evaluate(() => (globalThis as unknown as { mcpproxy: { invoke(c: string): Promise<{ mcp_url: string }> } }).mcpproxy.invoke('app.info'))) as { mcp_url: string }
    const client = new Client({ name: 'electron-e2e', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(info.mcp_url), { requestInit: { headers: { 'X-API-Key': apiKey } } }))
    await client.callTool({ name: 'call_tool', arguments: { server: 'everything', tool: 'echo', arguments: { message: 'from electron e2e' } } })
    await client.close()
    await page.getByRole('link', { name: 'Activity' }).click()
    await expect(page.getByRole('cell', { name: 'echo' }).first()).toBeVisible({ timeout: 15_000 })
    await expect.poll(async () => JSON.stringify((await tray())?.menu), { timeout: 15_000 }).toContain('everything:echo')
  })

  test('approves the quarantined server from the review', async () => {
    await page.getByRole('link', { name: 'Servers' }).click()
    await expect(page.getByText('newcomer').first()).toBeVisible({ timeout: 15_000 })
    await page.evaluate(() => {
      ;(globalThis as unknown as { location: { hash: string } }).location.hash = '#/review/newcomer'
    })
    await page.getByRole('button', { name: 'Approve' }).first().click()
    await expect.poll(() => readConfig().mcpServers.newcomer?.quarantined, { timeout: 15_000 }).toBe(false)
  })

  test('exports the log through the save dialog', async () => {
    const target = join(dataDir, 'export.jsonl')
    await app.evaluate(({ dialog }, path) => {
      dialog.showSaveDialog = (async () => ({ canceled: false, filePath: path })) as typeof dialog.showSaveDialog
    }, target)
    await page.evaluate(() =>
      (globalThis as unknown as { mcpproxy: { invoke(c: string, r: unknown): Promise<unknown> } }).mcpproxy.invoke('activity.exportToFile', { filter: {}, format: 'json' }),
    )
    expect(existsSync(target)).toBe(true)
    expect(readFileSync(target, 'utf8')).toContain('"tool_name":"echo"')
  })
})

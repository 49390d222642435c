/**
 * Runs the Electron shell's entry with an injected Electron API (no Electron binary needed):
 * it must host a real core in the given data dir, register the IPC contract, build the tray
 * from state, refuse a second instance's work, and flush the log when quitting.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { IPC_CHANNELS } from '../shared/ipc'
import { createActivityStore } from '../core/activity/store'

const dir = mkdtempSync(join(tmpdir(), 'mcpproxy-main-'))
writeFileSync(join(dir, 'mcp_config.json'), JSON.stringify({ listen: '127.0.0.1:0', api_key: 'main-test-key-0123456789', mcpServers: {} }))

const electron = vi.hoisted(() => {
  const appHandlers = new Map<string, (...args: unknown[]) => void>()
  const handles = new Map<string, unknown>()
  const trays: Array<{ image: unknown; menu: unknown; tooltip?: string }> = []
  const app = {
    isPackaged: false,
    requestSingleInstanceLock: vi.fn(() => true),
    on: (name: string, fn: (...args: unknown[]) => void) => void appHandlers.set(name, fn),
    whenReady: () => Promise.resolve(),
    getVersion: () => '0.1.0-test',
    getLoginItemSettings: () => ({ openAtLogin: false }),
    setLoginItemSettings: vi.fn(),
    quit: vi.fn(),
    dock: { hide: vi.fn() },
  }
  class Tray {
    state: { image: unknown; menu: unknown; tooltip?: string }
    constructor(image: unknown) {
      this.state = { image, menu: null }
      trays.push(this.state)
    }
    setToolTip(t: string): void {
      this.state.tooltip = t
    }
    setImage(i: unknown): void {
      this.state.image = i
    }
    setContextMenu(m: unknown): void {
      this.state.menu = m
    }
    on(): void {}
  }
  class BrowserWindow {
    webContents = { setWindowOpenHandler: vi.fn(), on: vi.fn(), send: vi.fn() }
    on = vi.fn()
    once = vi.fn()
    loadFile = vi.fn(async () => {})
    loadURL = vi.fn(async () => {})
    isDestroyed = () => false
    show = vi.fn()
    focus = vi.fn()
    hide = vi.fn()
  }
  class Notification {
    static isSupported = () => false
    on = vi.fn()
    show = vi.fn()
  }
  return {
    appHandlers,
    handles,
    trays,
    module: {
      app,
      Tray,
      BrowserWindow,
      Notification,
      Menu: { buildFromTemplate: (t: unknown) => t },
      nativeImage: { createFromPath: (p: string) => ({ path: p }) },
      ipcMain: { handle: (c: string, fn: unknown) => void handles.set(c, fn), removeHandler: (c: string) => void handles.delete(c) },
      session: { defaultSession: { webRequest: { onHeadersReceived: vi.fn() }, setPermissionRequestHandler: vi.fn() } },
      dialog: { showErrorBox: vi.fn(), showSaveDialog: vi.fn() },
      shell: { openExternal: vi.fn() },
      clipboard: { writeText: vi.fn() },
    },
  }
})
vi.mock('electron', () => electron.module)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('Electron main process (injected Electron API)', () => {
  it('hosts the core, registers the IPC contract and builds the tray from state', async () => {
    process.argv.push('--data-dir', dir, '--hidden')
    await import('./index')
    await vi.waitFor(() => expect(electron.handles.size).toBe(IPC_CHANNELS.length), { timeout: 20_000 })
    expect([...electron.handles.keys()].sort()).toEqual([...IPC_CHANNELS].sort())
    expect(electron.module.dialog.showErrorBox).not.toHaveBeenCalled()

    const tray = electron.trays[0]!
    expect(tray.tooltip).toBe('MCPProxy')
    await vi.waitFor(() => expect(tray.menu).not.toBeNull(), { timeout: 5000 })
    const menu = tray.menu as Array<{ label?: string }>
    expect(menu[0]!.label).toMatch(/^0\/0 servers connected · 0 calls today/)
    expect(menu.map((i) => i.label)).toContain('Open Activity…')
    expect((tray.image as { path: string }).path).toMatch(/resources[/\\]tray[/\\]tray-normal(Template)?\.png$/)
    // the renderer CSP is applied to every response of the default session
    expect(electron.module.session.defaultSession.webRequest.onHeadersReceived).toHaveBeenCalled()
  })

  it('answers IPC from the window only, in the envelope', async () => {
    const handler = electron.handles.get('status.get') as (e: unknown, r: unknown) => Promise<unknown>
    expect(await handler({ sender: {}, senderFrame: { url: 'https://evil.example/' } }, undefined)).toEqual({
      error: { message: 'IPC from an untrusted sender was refused', code: 'FORBIDDEN' },
    })
  })

  it('flushes the activity log before quitting', async () => {
    const beforeQuit = electron.appHandlers.get('before-quit')!
    const event = { preventDefault: vi.fn() }
    beforeQuit(event)
    expect(event.preventDefault).toHaveBeenCalled()
    await vi.waitFor(() => expect(electron.module.app.quit).toHaveBeenCalled(), { timeout: 20_000 })
    const store = createActivityStore({ file: join(dir, 'activity.db'), retention: false })
    try {
      const types = store.list({}, { limit: 10, offset: 0 }).activities.map((a) => a.type)
      expect(types).toContain('system_stop')
      expect(types).toContain('system_start')
      expect((await store.verify()).ok).toBe(true)
    } finally {
      await store.close()
    }
  })
})

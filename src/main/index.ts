/**
 * The Electron shell: hosts the core (same data dir as the CLI and `mcpproxy serve`), keeps the
 * tray, the window, IPC and notifications. Everything here is glue; the logic it uses lives in
 * small modules beside it that are tested without Electron.
 */
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, nativeImage, Notification, session, shell, Tray } from 'electron'
import type { IpcMainInvokeEvent, MenuItemConstructorOptions } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { resolveDataDir } from '../core/config/load'
import { createCore } from '../core/index'
import type { Core } from '../core/core-types'
import type { AppInfo } from '../shared/ipc'
import { coreWorkerUrls } from './core-workers'
import { exportToFile } from './export-file'
import { forwardCoreEvents } from './event-forwarder'
import { createIpcHandlers, registerIpcHandlers } from './ipc-handlers'
import { notificationFor } from './notifications'
import { trayIconPath } from './tray-icons'
import { buildTrayMenu, trayIconState, type TrayAction, type TrayMenuItem, type TrayState } from './tray-menu'
import { readTrayState } from './tray-state'
import { hardenWebContents, isAppUrl, isSafeExternalUrl, mainWindowOptions, RENDERER_CSP } from './window-options'

const here = dirname(fileURLToPath(import.meta.url))
const rendererDir = join(here, '../renderer')
const preloadPath = join(here, '../preload/index.cjs')
const resourcesDir = app.isPackaged ? process.resourcesPath : join(here, '../../resources')
const devServerUrl = process.env.ELECTRON_RENDERER_URL

let core: Core | null = null
let coreError: string | undefined
let tray: Tray | null = null
let window: BrowserWindow | null = null
let quitting = false

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag)
  return i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith(flag + '='))?.slice(flag.length + 1)
}

function endpoints(): { mcpUrl: string; webUiUrl: string } {
  const addr = core?.listenAddress ?? '127.0.0.1:8080'
  return { mcpUrl: `http://${addr}/mcp`, webUiUrl: `http://${addr}/ui/?apikey=${encodeURIComponent(core?.apiKey ?? '')}` }
}

function appInfo(): AppInfo {
  const { mcpUrl, webUiUrl } = endpoints()
  return { version: app.getVersion(), mcp_url: mcpUrl, web_ui_url: webUiUrl, data_dir: core?.paths.dataDir ?? '', platform: process.platform }
}

function showWindow(navigate?: Parameters<BrowserWindow['webContents']['send']>[1]): void {
  if (!window || window.isDestroyed()) {
    window = new BrowserWindow(mainWindowOptions(preloadPath, join(resourcesDir, 'icon.png')))
    hardenWebContents(window.webContents, { rendererDir, devServerUrl, openExternal: (u) => void shell.openExternal(u) })
    window.on('close', (e) => {
      // closing the window keeps the app in the tray
      if (!quitting) {
        e.preventDefault()
        window?.hide()
      }
    })
    window.once('ready-to-show', () => window?.show())
    if (devServerUrl) void window.loadURL(devServerUrl)
    else void window.loadFile(join(rendererDir, 'index.html'))
  } else {
    window.show()
    window.focus()
  }
  if (navigate) window.webContents.send('app.navigate', navigate)
}

function toElectronMenu(items: TrayMenuItem[]): MenuItemConstructorOptions[] {
  return items.map((item) => ({
    label: item.label && item.sublabel && process.platform !== 'darwin' ? `${item.label} — ${item.sublabel}` : item.label,
    sublabel: item.sublabel,
    type: item.type,
    enabled: item.enabled,
    checked: item.checked,
    submenu: item.submenu ? toElectronMenu(item.submenu) : undefined,
    click: item.action ? () => void runTrayAction(item.action!) : undefined,
  }))
}

async function runTrayAction(action: TrayAction): Promise<void> {
  if (!core) return
  try {
    switch (action.kind) {
      case 'open-activity':
        return showWindow({ view: 'activity', id: action.id })
      case 'open-view':
        return showWindow({ view: action.view, server: action.server })
      case 'approve':
      case 'deny':
        core.approvals.decide(action.id, action.kind, 'tray')
        return
      case 'server':
        await core.upstreams[action.op](action.name, 'tray')
        return
      case 'export':
        await exportToFile(core, dialog, window, { filter: {}, format: action.format })
        return
      case 'copy-endpoint':
        clipboard.writeText(endpoints().mcpUrl)
        return
      case 'toggle-start-at-login':
        app.setLoginItemSettings({ openAtLogin: !app.getLoginItemSettings().openAtLogin })
        refreshTray()
        return
      case 'open-web-ui':
        await shell.openExternal(endpoints().webUiUrl)
        return
      case 'quit':
        app.quit()
        return
    }
  } catch (err) {
    new Notification({ title: 'MCPProxy', body: (err as Error).message }).show()
  }
}

let trayTimer: NodeJS.Timeout | null = null
let lastTray: { icon: string; menu: TrayMenuItem[] } | null = null
function refreshTray(): void {
  if (trayTimer) return
  // events arrive in bursts: rebuild the menu at most every 300 ms
  trayTimer = setTimeout(() => {
    trayTimer = null
    if (!tray) return
    let state: TrayState
    try {
      state = core
        ? readTrayState(core, { mcpUrl: endpoints().mcpUrl, startAtLogin: app.getLoginItemSettings().openAtLogin })
        : emptyState()
    } catch (err) {
      state = { ...emptyState(), coreError: (err as Error).message }
    }
    const icon = trayIconState(state)
    const menu = buildTrayMenu(state)
    tray.setImage(nativeImage.createFromPath(trayIconPath(resourcesDir, icon, process.platform)))
    tray.setContextMenu(Menu.buildFromTemplate(toElectronMenu(menu)))
    lastTray = { icon, menu }
  }, 300)
}

function emptyState(): TrayState {
  return { servers: [], callsToday: 0, errorsToday: 0, blockedToday: 0, recentCalls: [], approvals: [], toolChanges: [], mcpUrl: '', startAtLogin: false, coreError }
}

function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? ''
  return !!window && event.sender === window.webContents && isAppUrl(url, rendererDir, devServerUrl)
}

async function start(): Promise<void> {
  if (process.platform === 'darwin') app.dock?.hide()
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } })
  })
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))

  tray = new Tray(nativeImage.createFromPath(trayIconPath(resourcesDir, 'normal', process.platform)))
  tray.setToolTip('MCPProxy')
  tray.on('click', () => showWindow())

  try {
    core = await createCore({
      dataDir: resolveDataDir(argValue('--data-dir')),
      http: true,
      webUiDir: rendererDir,
      nativeBinding: process.env.MCPPROXY_SQLITE_BINDING,
      version: app.getVersion(),
      ...coreWorkerUrls(here),
    })
    await core.start()
  } catch (err) {
    coreError = (err as Error).message
    dialog.showErrorBox('MCPProxy could not start its core', coreError)
  }
  if (core) {
    const c = core
    registerIpcHandlers(
      ipcMain,
      createIpcHandlers(c, {
        appInfo,
        isTrustedSender,
        exportToFile: (req) => exportToFile(c, dialog, window, req),
        openExternal: async (url) => {
          if (isSafeExternalUrl(url)) await shell.openExternal(url)
        },
        copyText: (text) => clipboard.writeText(text),
      }),
      { isTrustedSender },
    )
    forwardCoreEvents(c.bus, (batch) => {
      if (window && !window.isDestroyed()) window.webContents.send('core.events', batch)
      refreshTray()
      for (const { name, payload } of batch) notify(name, payload)
    })
  }
  refreshTray()
  if (!process.argv.includes('--hidden')) showWindow()
}

function notify(...[name, payload]: Parameters<typeof notificationFor>): void {
  const spec = notificationFor(name, payload)
  if (!spec || !Notification.isSupported()) return
  const n = new Notification({
    title: spec.title,
    body: spec.body,
    actions: spec.approvalId ? [{ type: 'button', text: 'Approve' }, { type: 'button', text: 'Deny' }] : [],
  })
  n.on('click', () => showWindow(spec.target))
  n.on('action', (_e, index) => {
    if (spec.approvalId) void runTrayAction({ kind: index === 0 ? 'approve' : 'deny', id: spec.approvalId })
  })
  n.show()
}

// end-to-end tests read the tray model and run its actions from the main process
if (process.env.MCPPROXY_E2E === '1') {
  Object.assign(globalThis, { __mcpproxyE2E: { tray: () => lastTray, runTrayAction } })
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => showWindow())
  app.on('window-all-closed', () => {
    // stay in the tray
  })
  app.on('before-quit', (event) => {
    if (quitting || !core) {
      quitting = true
      return
    }
    // flush the activity log before the process exits
    event.preventDefault()
    quitting = true
    const c = core
    core = null
    // a failed stop (records the full disk kept out) was logged by the core: quit all the same
    void c
      .stop()
      .catch(() => undefined)
      .finally(() => app.quit())
  })
  void app.whenReady().then(start)
}

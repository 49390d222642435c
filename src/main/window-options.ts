/**
 * How app windows are created and locked down. Pure functions over the Electron API types so
 * tests check them without Electron.
 */
import { pathToFileURL } from 'node:url'
import type { BrowserWindowConstructorOptions, WebContents } from 'electron'

/** Content-Security-Policy for the renderer: our own files only, no remote content, no eval. */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export function mainWindowOptions(preloadPath: string, iconPath?: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 860,
    minHeight: 560,
    show: false,
    title: 'MCPProxy',
    icon: iconPath,
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
    },
  }
}

/** True when a URL is the app's own renderer (file:// under the renderer dir, or the dev server). */
export function isAppUrl(url: string, rendererDir: string, devServerUrl?: string): boolean {
  if (devServerUrl && url.startsWith(devServerUrl)) return true
  const base = pathToFileURL(rendererDir).href.replace(/\/?$/, '/')
  try {
    const u = new URL(url)
    return u.protocol === 'file:' && !u.pathname.includes('..') && u.href.startsWith(base)
  } catch {
    return false
  }
}

/** Only http(s) links leave the app, and only to the system browser. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === 'https:' || u.protocol === 'http:'
  } catch {
    return false
  }
}

/**
 * Denies new windows and every navigation away from the app. Links a user clicks open in the
 * system browser instead (when safe).
 */
export function hardenWebContents(
  contents: Pick<WebContents, 'setWindowOpenHandler' | 'on'>,
  options: { rendererDir: string; devServerUrl?: string; openExternal: (url: string) => void },
): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) options.openExternal(url)
    return { action: 'deny' }
  })
  const block = (event: { preventDefault(): void }, url: string): void => {
    if (!isAppUrl(url, options.rendererDir, options.devServerUrl)) event.preventDefault()
  }
  contents.on('will-navigate', block)
  contents.on('will-redirect', block)
  contents.on('will-attach-webview', (event: { preventDefault(): void }) => event.preventDefault())
}

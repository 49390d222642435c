import { describe, expect, it, vi } from 'vitest'
import { hardenWebContents, isAppUrl, isSafeExternalUrl, mainWindowOptions, RENDERER_CSP } from './window-options'

describe('window options', () => {
  it('runs the renderer isolated and sandboxed without Node', () => {
    const prefs = mainWindowOptions('/app/out/preload/index.cjs').webPreferences!
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
  })

  it('has a CSP without remote origins or eval', () => {
    expect(RENDERER_CSP).toContain("default-src 'self'")
    expect(RENDERER_CSP).toContain("script-src 'self'")
    expect(RENDERER_CSP).not.toMatch(/unsafe-eval|https?:|\*/)
    expect(RENDERER_CSP).toContain("object-src 'none'")
  })

  it('recognises only the app renderer as app URLs', () => {
    expect(isAppUrl('file:///opt/app/out/renderer/index.html', '/opt/app/out/renderer')).toBe(true)
    expect(isAppUrl('file:///opt/app/out/renderer/index.html#/activity?id=1', '/opt/app/out/renderer')).toBe(true)
    expect(isAppUrl('file:///opt/app/out/renderer-evil/index.html', '/opt/app/out/renderer')).toBe(false)
    expect(isAppUrl('file:///etc/passwd', '/opt/app/out/renderer')).toBe(false)
    expect(isAppUrl('https://evil.example/', '/opt/app/out/renderer')).toBe(false)
    expect(isAppUrl('http://localhost:5173/x', '/opt/app/out/renderer', 'http://localhost:5173/')).toBe(true)
  })

  it('lets only http(s) links out to the system browser', () => {
    expect(isSafeExternalUrl('https://modelcontextprotocol.io')).toBe(true)
    expect(isSafeExternalUrl('file:///etc/passwd')).toBe(false)
    expect(isSafeExternalUrl('javascript:alert(1)')).toBe(false)
    expect(isSafeExternalUrl('not a url')).toBe(false)
  })

  it('denies new windows and navigation away from the app', () => {
    const handlers: Record<string, (e: { preventDefault(): void }, url: string) => void> = {}
    let openHandler: ((d: { url: string }) => { action: string }) | undefined
    const contents = {
      setWindowOpenHandler: (h: typeof openHandler) => void (openHandler = h),
      on: (name: string, h: (e: { preventDefault(): void }, url: string) => void) => void (handlers[name] = h),
    }
    const openExternal = vi.fn()
    hardenWebContents(contents as never, { rendererDir: '/opt/app/out/renderer', openExternal })

    expect(openHandler!({ url: 'https://example.org/docs' })).toEqual({ action: 'deny' })
    expect(openExternal).toHaveBeenCalledWith('https://example.org/docs')
    expect(openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' })
    expect(openExternal).toHaveBeenCalledTimes(1)

    const away = { preventDefault: vi.fn() }
    handlers['will-navigate']!(away, 'https://evil.example/')
    expect(away.preventDefault).toHaveBeenCalled()
    const inside = { preventDefault: vi.fn() }
    handlers['will-navigate']!(inside, 'file:///opt/app/out/renderer/index.html')
    expect(inside.preventDefault).not.toHaveBeenCalled()
    const redirect = { preventDefault: vi.fn() }
    handlers['will-redirect']!(redirect, 'http://127.0.0.1:9/')
    expect(redirect.preventDefault).toHaveBeenCalled()
    const webview = { preventDefault: vi.fn() }
    handlers['will-attach-webview']!(webview, '')
    expect(webview.preventDefault).toHaveBeenCalled()
  })
})

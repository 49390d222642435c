import type { Api } from './api'
import { takeApiKey } from './api-key'
import { HttpApi } from './http-api'
import { IpcApi } from './ipc-api'

/** Electron (preload present) → IPC; a browser → HTTP on the page's own origin. */
export function selectApi(): Api {
  if (window.mcpproxy) return new IpcApi(window.mcpproxy)
  const origin = window.location.protocol.startsWith('http') ? window.location.origin : ''
  return new HttpApi(origin, takeApiKey())
}

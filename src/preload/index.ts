/**
 * The preload: exposes exactly the typed IPC contract (src/shared/ipc.ts) as `window.mcpproxy`.
 * Unknown channels are refused here before they reach the main process.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { IPC_CHANNELS, IPC_EVENT_NAMES, type IpcEnvelope, type PreloadApi } from '../shared/ipc'

const channels = new Set<string>(IPC_CHANNELS)
const events = new Set<string>(IPC_EVENT_NAMES)

class IpcCallError extends Error {
  readonly code: string
  constructor(message: string, code: string) {
    super(message)
    this.name = 'IpcCallError'
    this.code = code
  }
}

const api: PreloadApi = {
  async invoke(channel, request) {
    if (!channels.has(channel)) throw new IpcCallError(`unknown IPC channel ${String(channel)}`, 'BAD_REQUEST')
    const envelope = (await ipcRenderer.invoke(channel, request)) as IpcEnvelope<never>
    if ('error' in envelope) throw new IpcCallError(envelope.error.message, envelope.error.code)
    return envelope.result
  },
  on(event, listener) {
    if (!events.has(event)) throw new IpcCallError(`unknown IPC event ${String(event)}`, 'BAD_REQUEST')
    const wrapped = (_e: IpcRendererEvent, payload: unknown): void => listener(payload as never)
    ipcRenderer.on(event, wrapped)
    return () => {
      ipcRenderer.removeListener(event, wrapped)
    }
  },
}

contextBridge.exposeInMainWorld('mcpproxy', api)

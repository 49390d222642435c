/**
 * The core's worker threads as electron-vite builds them beside the main entry
 * (electron.vite.config.ts): recording, import parsing and the heavy reads (summary, metrics,
 * verify) then run off the main process, whose event loop also serves the tray and the window's
 * IPC. A worker file that is absent (running from source, as the tests do) leaves that work on
 * the main thread, as the core does without workers.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CoreOptions } from '../core/core-types'

export type CoreWorkerUrls = Pick<CoreOptions, 'writerWorkerUrl' | 'importWorkerUrl' | 'readWorkerUrl'>

export function coreWorkerUrls(dir: string): CoreWorkerUrls {
  const built = (name: string): URL | undefined => {
    const file = join(dir, `${name}.js`)
    return existsSync(file) ? pathToFileURL(file) : undefined
  }
  return {
    writerWorkerUrl: built('activity-writer-worker'),
    importWorkerUrl: built('activity-import-worker'),
    readWorkerUrl: built('activity-read-worker'),
  }
}

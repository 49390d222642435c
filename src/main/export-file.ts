import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import type { BrowserWindow, Dialog } from 'electron'
import type { Core } from '../core/core-types'
import { recordsFromJsonLines } from '../core/activity/export'
import { renderHtmlReport } from '../core/activity/report'
import { exportFileName } from '../shared/activity'
import type { IpcRequest, IpcResponse } from '../shared/ipc'

const EXT = { json: 'jsonl', csv: 'csv', html: 'html' } as const


/** Asks where to save, then streams the export (or the HTML report) of the filter to that file. */
export async function exportToFile(
  core: Core,
  dialog: Pick<Dialog, 'showSaveDialog'>,
  parent: BrowserWindow | null,
  request: IpcRequest<'activity.exportToFile'>,
): Promise<IpcResponse<'activity.exportToFile'>> {
  const ext = EXT[request.format]
  const options = {
    title: 'Export activity',
    defaultPath: exportFileName(request.format),
    filters: [{ name: ext.toUpperCase(), extensions: [ext] }],
  }
  const choice = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options)
  if (choice.canceled || !choice.filePath) return { path: null }
  const out = createWriteStream(choice.filePath, { mode: 0o600 })
  let rows = 0
  if (request.format === 'html') {
    out.write(await renderHtmlReport(recordsFromJsonLines(core.activity.export(request.filter, { format: 'json', includeBodies: true })), { filterDescription: JSON.stringify(request.filter) }))
  } else {
    for await (const chunk of core.activity.export(request.filter, { format: request.format, includeBodies: request.includeBodies ?? false })) {
      rows += chunk.split('\n').length - 1
      if (!out.write(chunk)) await once(out, 'drain')
    }
  }
  out.end()
  await once(out, 'finish')
  return { path: choice.filePath, rows }
}

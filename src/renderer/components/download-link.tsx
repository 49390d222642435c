import { useState, type ReactNode } from 'react'
import type { Download } from '../api/api'
import { errorMessage } from '../lib/format'

/** Follows a one-use download link the way a clicked link with `download` would. */
function followDownload(href: string, filename: string): void {
  const a = document.createElement('a')
  a.href = href
  a.download = filename
  a.rel = 'noopener'
  document.body.append(a)
  a.click()
  a.remove()
}

/** A button that downloads: in a browser through a one-use link, in the desktop app through a save dialog (IPC). */
export function DownloadLink({ download, children }: { download: Download; children: ReactNode }): ReactNode {
  const [message, setMessage] = useState<{ text: string; error: boolean }>()
  const save = async (): Promise<void> => {
    try {
      if (download.kind === 'url') {
        followDownload(await download.url(), download.filename)
        setMessage(undefined)
        return
      }
      const path = await download.save()
      setMessage(path ? { text: `Saved to ${path}`, error: false } : undefined)
    } catch (err) {
      setMessage({ text: errorMessage(err), error: true })
    }
  }
  return (
    <>
      <button type="button" onClick={() => void save()}>
        {children}
      </button>
      {message && (
        <span role={message.error ? 'alert' : 'status'} className={message.error ? 'danger' : 'ok'}>
          {message.text}
        </span>
      )}
    </>
  )
}

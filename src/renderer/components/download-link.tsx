import { useState, type ReactNode } from 'react'
import type { Download } from '../api/api'
import { errorMessage } from '../lib/format'

/** A link for URL downloads (browser); a button that saves through the desktop app (IPC). */
export function DownloadLink({ download, children }: { download: Download; children: ReactNode }): ReactNode {
  const [message, setMessage] = useState<{ text: string; error: boolean }>()
  if (download.kind === 'url') {
    return (
      <a className="button" href={download.url} download={download.filename}>
        {children}
      </a>
    )
  }
  const save = async (): Promise<void> => {
    try {
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

import { useState, type FormEvent, type ReactNode } from 'react'
import type { AddServerInput } from '../../../shared/servers'
import { ErrorMessage } from '../../components/error-message'
import { navigate, routeHref } from '../../lib/route'
import { useServersStore } from '../../stores/stores-context'

/** Splits a command line into words, honouring simple quotes. */
export function splitArgs(line: string): string[] {
  const out: string[] = []
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '')
  return out
}

/** Parses `KEY=value` lines; returns the bad line instead of guessing. */
export function parseEnv(text: string): { env: Record<string, string> } | { error: string } {
  const env: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line) continue
    const eq = line.indexOf('=')
    if (eq <= 0) return { error: `Environment line "${line}" is not KEY=value` }
    env[line.slice(0, eq).trim()] = line.slice(eq + 1)
  }
  return { env }
}

/** A new server always lands in quarantine: nothing it offers is exposed until reviewed. */
export function AddServerForm(): ReactNode {
  const serverAdded = useServersStore((s) => s.serverAdded)
  const storeError = useServersStore((s) => s.error)
  const [kind, setKind] = useState<'stdio' | 'url'>('stdio')
  const [name, setName] = useState('')
  const [command, setCommand] = useState('')
  const [env, setEnv] = useState('')
  const [url, setUrl] = useState('')
  const [protocol, setProtocol] = useState<'auto' | 'http' | 'sse'>('auto')
  const [error, setError] = useState<string>()
  const [saving, setSaving] = useState(false)

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) return setError('Name: 1 to 64 letters, digits, ".", "_" or "-".')
    let input: AddServerInput
    if (kind === 'stdio') {
      const words = splitArgs(command)
      if (!words.length) return setError('Command: enter the command that starts the server.')
      const parsed = parseEnv(env)
      if ('error' in parsed) return setError(parsed.error)
      input = { name, command: words[0], args: words.slice(1), env: Object.keys(parsed.env).length ? parsed.env : undefined, quarantined: true }
    } else {
      try {
        const u = new URL(url)
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error()
      } catch {
        return setError('URL: enter an http:// or https:// address.')
      }
      input = { name, url, protocol, quarantined: true }
    }
    setSaving(true)
    const ok = await serverAdded(input)
    setSaving(false)
    if (ok) navigate(routeHref('review', name))
  }

  return (
    <form className="add-server card" onSubmit={(e) => void submit(e)} aria-labelledby="add-title">
      <h1 id="add-title">Add a server</h1>
      <p className="muted">New servers start in quarantine: review their tools before agents can use them.</p>
      <fieldset>
        <legend>Transport</legend>
        <label>
          <input type="radio" name="kind" checked={kind === 'stdio'} onChange={() => setKind('stdio')} /> Local command (stdio)
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === 'url'} onChange={() => setKind('url')} /> Remote URL
        </label>
      </fieldset>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.currentTarget.value)} required placeholder="github" />
      </label>
      {kind === 'stdio' ? (
        <>
          <label>
            Command
            <input value={command} onChange={(e) => setCommand(e.currentTarget.value)} placeholder="npx -y @modelcontextprotocol/server-filesystem /tmp" />
          </label>
          <label>
            Environment (KEY=value per line)
            <textarea value={env} onChange={(e) => setEnv(e.currentTarget.value)} rows={3} />
          </label>
        </>
      ) : (
        <>
          <label>
            URL
            <input type="url" value={url} onChange={(e) => setUrl(e.currentTarget.value)} placeholder="https://example.com/mcp" />
          </label>
          <label>
            Protocol
            <select value={protocol} onChange={(e) => setProtocol(e.currentTarget.value as typeof protocol)}>
              <option value="auto">auto</option>
              <option value="http">streamable HTTP</option>
              <option value="sse">SSE</option>
            </select>
          </label>
        </>
      )}
      <ErrorMessage error={error ?? storeError} />
      <div className="actions">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? 'Adding…' : 'Add (quarantined)'}
        </button>
        <a href={routeHref('servers')}>Cancel</a>
      </div>
    </form>
  )
}

import { useEffect, type ReactNode } from 'react'
import type { ToolFindingInfo, ToolInfo } from '../../../shared/servers'
import { ErrorMessage } from '../../components/error-message'
import { JsonTree } from '../../components/json-tree'
import { navigate, routeHref } from '../../lib/route'
import { useServersStore } from '../../stores/stores-context'
import { DefinitionDiff } from './definition-diff'

/** Invisible and direction-changing characters hide instructions from a reviewer: show them. */
const HIDDEN = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g

export function revealHidden(text: string): ReactNode[] {
  const out: ReactNode[] = []
  let last = 0
  for (const m of text.matchAll(HIDDEN)) {
    if (m.index > last) out.push(text.slice(last, m.index))
    const code = `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
    out.push(
      <mark key={m.index} className="hidden-char" title={`hidden character ${code}`}>
        {code}
      </mark>,
    )
    last = m.index + m[0].length
  }
  if (last < text.length) out.push(text.slice(last))
  return out
}

function Findings({ tool, findings }: { tool: string; findings: ToolFindingInfo[] }): ReactNode {
  return (
    <ul className="findings" aria-label={`Findings for ${tool}`}>
      {findings.map((f, i) => (
        <li key={i} className={`finding severity-${f.severity}`}>
          <strong>
            <span aria-hidden="true">⚠ </span>
            {f.kind} ({f.severity})
          </strong>
          : {f.detail}
        </li>
      ))}
    </ul>
  )
}

function ToolCard({ tool, findings }: { tool: ToolInfo; findings: ToolFindingInfo[] }): ReactNode {
  return (
    <li className={`card tool${findings.length ? ' has-findings' : ''}`} aria-labelledby={`tool-${tool.tool}`}>
      <header>
        <h3 id={`tool-${tool.tool}`}>{tool.tool}</h3>
        {tool.pin_state && tool.pin_state !== 'approved' && <span className="tag warn">{tool.pin_state}</span>}
      </header>
      {findings.length > 0 && <Findings tool={tool.tool} findings={findings} />}
      <p className="description">{tool.description ? revealHidden(tool.description) : <span className="muted">No description.</span>}</p>
      {tool.input_schema && (
        <details>
          <summary>Input schema</summary>
          <JsonTree value={tool.input_schema} label={`${tool.tool} input schema`} />
        </details>
      )}
      {tool.annotations && Object.keys(tool.annotations).length > 0 && (
        <p className="muted small">
          {Object.entries(tool.annotations)
            .map(([k, v]) => `${k}: ${String(v)}`)
            .join(' · ')}
        </p>
      )}
    </li>
  )
}

/** Everything a person needs to decide whether a server's tools are safe to expose. */
export function QuarantineReview({ name }: { name: string }): ReactNode {
  const reviewOpened = useServersStore((s) => s.reviewOpened)
  const opened = useServersStore((s) => s.opened)
  const review = useServersStore((s) => s.review)
  const server = useServersStore((s) => s.servers.find((x) => x.name === name))
  const busy = useServersStore((s) => s.busy[name])
  const error = useServersStore((s) => s.error)
  const notice = useServersStore((s) => s.notice)
  const approve = useServersStore((s) => s.quarantineApproved)
  const keep = useServersStore((s) => s.keptQuarantined)
  const approveChange = useServersStore((s) => s.toolChangeApproved)
  const blockChange = useServersStore((s) => s.toolChangeBlocked)

  useEffect(() => {
    void opened()
    void reviewOpened(name)
  }, [name, opened, reviewOpened])

  const findings = server?.findings ?? []
  const tools = review?.name === name ? review.tools : []
  const changes = review?.name === name ? review.changes : []

  return (
    <div className="review">
      <header className="page-header">
        <h1>Review {name}</h1>
        <a href={routeHref('servers')}>Back to servers</a>
      </header>
      <ErrorMessage error={error ?? review?.error} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {server && (
        <p>
          State: <strong>{server.quarantined ? 'quarantined' : 'approved'}</strong> · {server.health.summary}
          {findings.length > 0 && <span className="danger"> · {findings.length} poisoning finding(s)</span>}
        </p>
      )}

      {changes.length > 0 && (
        <section aria-labelledby="changes-title">
          <h2 id="changes-title">Changed tools</h2>
          <p className="muted">
            These tools changed since you approved them. Each stays blocked, and clients see its approved definition, until you approve it here: approving
            the server does not approve them.
          </p>
          <ul className="cards">
            {changes.map((c) => (
              <li key={c.tool} className={`card${c.findings?.length ? ' has-findings' : ''}`} aria-labelledby={`change-${c.tool}`}>
                <header>
                  <h3 id={`change-${c.tool}`}>{c.tool}</h3>
                  {c.rejected_at && <span className="tag">blocked by you</span>}
                </header>
                {c.findings && c.findings.length > 0 && <Findings tool={c.tool} findings={c.findings} />}
                <DefinitionDiff before={c.old_definition} after={c.new_definition} />
                {c.rejected_at && (
                  <p className="muted small">
                    You refused this change on {new Date(c.rejected_at).toLocaleString()}: the approved definition stays, and calls to the tool are blocked while the server
                    offers this one.
                  </p>
                )}
                <div className="actions">
                  <button type="button" className="primary" disabled={!!busy} onClick={() => void approveChange(name, c.tool)}>
                    Approve
                  </button>
                  {!c.rejected_at && (
                    <button type="button" className="danger" disabled={!!busy} onClick={() => void blockChange(name, c.tool)}>
                      Block
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}

      {server?.quarantined && (
        <div className="actions sticky">
          <button type="button" className="primary" disabled={!!busy} onClick={() => void approve(name)}>
            Approve
          </button>
          <button
            type="button"
            disabled={!!busy}
            onClick={() => {
              keep(name)
              navigate(routeHref('servers'))
            }}
          >
            Keep quarantined
          </button>
        </div>
      )}

      <section aria-labelledby="tools-title">
        <h2 id="tools-title">Tools ({tools.length})</h2>
        {review?.loading && <p role="status">Loading tools…</p>}
        <ul className="cards">
          {tools.map((t) => (
            <ToolCard key={t.name} tool={t} findings={findings.filter((f) => f.tool === t.tool)} />
          ))}
        </ul>
      </section>
    </div>
  )
}

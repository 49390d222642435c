import { useEffect, useRef, type ReactNode } from 'react'
import type { ActivityRecord } from '../../../shared/activity'
import { hasRedactions, JsonTree } from '../../components/json-tree'
import { PolicyRule } from '../../components/policy-rule'
import { formatDuration } from '../../lib/format'
import { routeHref } from '../../lib/route'
import { useActivityStore } from '../../stores/stores-context'
import { StatusBadge } from './marks'
import { recordTitle } from '../../lib/record-title'

function Field({ label, children }: { label: string; children: ReactNode }): ReactNode {
  if (children === undefined || children === null || children === '') return null
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  )
}

function IntentSection({ record }: { record: ActivityRecord }): ReactNode {
  const intent = record.intent
  if (!intent) return <p className="muted">The agent declared no intent for this call.</p>
  const op = intent.operation_type
  return (
    <dl className={`intent-block${op === 'destructive' ? ' danger' : ''}`}>
      <Field label="Operation">
        {op && (
          <strong className={`intent intent-${op}`}>
            {op === 'destructive' && <span aria-hidden="true">⚠ </span>}
            {op.toUpperCase()}
          </strong>
        )}
      </Field>
      <Field label="Sensitivity">{intent.data_sensitivity}</Field>
      <Field label="Reversible">
        {intent.reversible === undefined ? undefined : intent.reversible ? 'Yes' : <strong className="irreversible">No — irreversible</strong>}
      </Field>
      <Field label="Reason">{intent.reason && <q>{intent.reason}</q>}</Field>
    </dl>
  )
}

function ChainSection({ record }: { record: ActivityRecord }): ReactNode {
  const verify = useActivityStore((s) => s.verify)
  const request = useActivityStore((s) => s.chainVerifyRequested)
  return (
    <>
      <dl>
        <Field label="Hash">{record.hash ? <code>{record.hash}</code> : <span className="muted">not chained yet (pending)</span>}</Field>
        <Field label="Previous hash">{record.prev_hash && <code>{record.prev_hash}</code>}</Field>
      </dl>
      <button type="button" onClick={() => void request()} disabled={verify?.running}>
        {verify?.running ? 'Verifying…' : 'Verify chain'}
      </button>
      {verify?.result && (
        <p role="status" className={verify.result.ok ? 'ok' : 'danger'}>
          {verify.result.ok
            ? `Chain intact: ${verify.result.checked} records checked.`
            : `Chain broken: ${verify.result.problem?.kind ?? 'problem'} ${verify.result.problem?.id ?? ''} — ${verify.result.problem?.detail ?? ''}`}
        </p>
      )}
      {verify?.error && <p role="alert">{verify.error}</p>}
    </>
  )
}

function RecordBody({ record }: { record: ActivityRecord }): ReactNode {
  const markers = [...(record.detection_types ?? []), ...(record.pii_detected ?? [])]
  const redacted = hasRedactions(record.arguments) || hasRedactions(record.response)
  return (
    <>
      <dl className="meta">
        <Field label="Time">
          <time dateTime={record.timestamp}>{new Date(record.timestamp).toLocaleString()}</time>
        </Field>
        <Field label="Type">{record.type}</Field>
        <Field label="Server">{record.server_name}</Field>
        <Field label="Tool">{record.tool_name}</Field>
        <Field label="Status">
          <StatusBadge status={record.status} />
        </Field>
        <Field label="Duration">{record.duration_ms !== undefined ? formatDuration(record.duration_ms) : undefined}</Field>
        <Field label="Session">
          {record.session_id && (
            <>
              <code>{record.session_id}</code>{' '}
              <a href={routeHref('activity', undefined, new URLSearchParams({ session: record.session_id }))}>Other calls in this session</a>
            </>
          )}
        </Field>
        <Field label="Client">{record.client && [record.client.name, record.client.version].filter(Boolean).join(' ')}</Field>
        <Field label="Request id">{record.request_id}</Field>
        <Field label="Size">
          {record.request_bytes !== undefined || record.response_bytes !== undefined
            ? `${record.request_bytes ?? 0} B in / ${record.response_bytes ?? 0} B out${record.response_tokens !== undefined ? ` (~${(record.request_tokens ?? 0) + record.response_tokens} tokens)` : ''}`
            : undefined}
        </Field>
        <Field label="Risk score">{record.risk_score}</Field>
        <Field label="Trace id">{record.trace_id && <code>{record.trace_id}</code>}</Field>
        <Field label="Span id">{record.span_id && <code>{record.span_id}</code>}</Field>
        <Field label="Record id">
          <code>{record.id}</code>
        </Field>
      </dl>

      {record.error && (
        <section aria-label="Error" className="error-banner">
          {record.error}
        </section>
      )}

      {(record.flags?.length || markers.length || redacted) && (
        <section aria-labelledby="detail-flags">
          <h3 id="detail-flags">Flags and detections</h3>
          <ul className="tags">
            {record.flags?.map((f) => (
              <li key={`f-${f}`} className="tag flag">
                {f}
              </li>
            ))}
            {markers.map((d) => (
              <li key={`d-${d}`} className="tag detection">
                detected: {d}
              </li>
            ))}
            {redacted && <li className="tag redacted">values redacted</li>}
          </ul>
        </section>
      )}

      {record.policy && (
        <section aria-labelledby="detail-policy">
          <h3 id="detail-policy">Policy decision</h3>
          <dl>
            <Field label="Decision">
              <strong className={`decision decision-${record.policy.decision}`}>{record.policy.decision}</strong>
            </Field>
            <Field label="Rule">{record.policy.rule && <PolicyRule rule={record.policy.rule} />}</Field>
            <Field label="Reason">{record.policy.reason}</Field>
          </dl>
        </section>
      )}

      <section aria-labelledby="detail-intent">
        <h3 id="detail-intent">Agent intent</h3>
        <IntentSection record={record} />
      </section>

      <section aria-labelledby="detail-args">
        <h3 id="detail-args">Arguments</h3>
        {record.arguments === undefined ? <p className="muted">None recorded.</p> : <JsonTree value={record.arguments} label="arguments" />}
      </section>

      <section aria-labelledby="detail-response">
        <h3 id="detail-response">Response{record.response_truncated ? ' (truncated)' : ''}</h3>
        {record.response === undefined ? <p className="muted">None recorded.</p> : <JsonTree value={record.response} label="response" />}
      </section>

      {record.metadata && Object.keys(record.metadata).length > 0 && (
        <section aria-labelledby="detail-metadata">
          <h3 id="detail-metadata">Details</h3>
          <JsonTree value={record.metadata} label="details" />
        </section>
      )}

      <section aria-labelledby="detail-chain">
        <h3 id="detail-chain">Chain</h3>
        <ChainSection record={record} />
      </section>
    </>
  )
}

/** The selected record in full. A labelled dialog beside the table; Escape closes it. */
export function DetailPanel({ onClose }: { onClose: () => void }): ReactNode {
  const detail = useActivityStore((s) => s.detail)
  const headingRef = useRef<HTMLHeadingElement>(null)

  useEffect(() => {
    if (!detail) return
    headingRef.current?.focus()
    const onKey = (e: globalThis.KeyboardEvent): void => {
      if (e.key === 'Escape') onClose()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [detail?.id, onClose, detail])

  if (!detail) return null
  const r = detail.record
  const title = recordTitle(r)
  return (
    <aside className="detail" role="dialog" aria-modal="false" aria-labelledby="detail-title">
      <header>
        <h2 id="detail-title" tabIndex={-1} ref={headingRef}>
          {title}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close details">
          ×
        </button>
      </header>
      {detail.error && <p role="alert">{detail.error}</p>}
      {!r && !detail.error && <p role="status">Loading…</p>}
      {/* keyed by record: a JSON tree picks the levels it opens when it mounts */}
      {r && <RecordBody key={r.id} record={r} />}
    </aside>
  )
}

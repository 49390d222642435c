import { useMemo, useState, type ReactNode } from 'react'

/** Masked values the core writes in place of secrets and personal data. */
const REDACTION = /\[REDACTED(?::[^\]]*)?\]|\*{4,}/g

/** Splits a string so that redaction markers can be highlighted. */
export function markRedactions(text: string): ReactNode[] {
  const out: ReactNode[] = []
  let last = 0
  for (const m of text.matchAll(REDACTION)) {
    if (m.index! > last) out.push(text.slice(last, m.index))
    out.push(
      <mark key={m.index} className="redacted" title="redacted by mcpproxy">
        {m[0]}
      </mark>,
    )
    last = m.index! + m[0].length
  }
  if (last < text.length) out.push(text.slice(last))
  return out
}

export function hasRedactions(value: unknown): boolean {
  return new RegExp(REDACTION.source).test(JSON.stringify(value) ?? '')
}

/** Levels always open at first: the value itself and its direct children. */
const MIN_OPEN_LEVELS = 2
/** Lines a tree may show at first before deeper levels stay collapsed. */
export const OPEN_LINE_BUDGET = 200

const entriesOf = (value: object): unknown[] => (Array.isArray(value) ? value : Object.values(value))

/**
 * How many levels of `value` open at first: every level while the lines they show stay within
 * `budget` (so a small body opens completely), never fewer than the top two; a large body stays
 * collapsed below the last level that fits.
 */
export function initialOpenLevels(value: unknown, budget: number = OPEN_LINE_BUDGET): number {
  let lines = 1
  let levels = 0
  let frontier: object[] = value !== null && typeof value === 'object' ? [value] : []
  while (frontier.length > 0) {
    const limited = levels >= MIN_OPEN_LEVELS
    let added = 0
    for (const v of frontier) {
      added += Array.isArray(v) ? v.length : Object.keys(v).length
      if (limited && lines + added > budget) return levels
    }
    lines += added
    levels++
    const next: object[] = []
    for (const v of frontier) for (const c of entriesOf(v)) if (c !== null && typeof c === 'object') next.push(c)
    frontier = next
  }
  return Number.POSITIVE_INFINITY
}

function Leaf({ value }: { value: unknown }): ReactNode {
  if (typeof value === 'string') return <span className="json-string">&quot;{markRedactions(value)}&quot;</span>
  if (typeof value === 'number') return <span className="json-number">{value}</span>
  if (typeof value === 'boolean') return <span className="json-bool">{String(value)}</span>
  return <span className="json-null">null</span>
}

function Node({ name, value, depth, openLevels }: { name?: string; value: unknown; depth: number; openLevels: number }): ReactNode {
  const [open, setOpen] = useState(depth < openLevels)
  const isObj = value !== null && typeof value === 'object'
  const label = name !== undefined ? <span className="json-key">{name}: </span> : null
  if (!isObj) {
    return (
      <li>
        {label}
        <Leaf value={value} />
      </li>
    )
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>)
  const brackets = Array.isArray(value) ? ['[', ']'] : ['{', '}']
  return (
    <li>
      <button type="button" className="json-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'}
      </button>
      {label}
      {brackets[0]}
      {!open && (
        <span className="json-collapsed">
          {' '}
          {entries.length} {Array.isArray(value) ? 'items' : 'keys'} {brackets[1]}
        </span>
      )}
      {open && (
        <>
          <ul className="json-children">
            {entries.map(([k, v]) => (
              <Node key={k} name={Array.isArray(value) ? undefined : k} value={v} depth={depth + 1} openLevels={openLevels} />
            ))}
          </ul>
          {brackets[1]}
        </>
      )}
    </li>
  )
}

/**
 * A collapsible JSON view with a copy button; redaction markers are highlighted. It opens as
 * many levels as `initialOpenLevels` allows.
 */
export function JsonTree({ value, label }: { value: unknown; label: string }): ReactNode {
  const [copied, setCopied] = useState(false)
  const openLevels = useMemo(() => initialOpenLevels(value), [value])
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2)
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text ?? '')
      setCopied(true)
      setTimeout(() => setCopied(false), 1500)
    } catch {
      setCopied(false)
    }
  }
  return (
    <div className="json-view">
      <button type="button" className="copy" onClick={() => void copy()} aria-label={`Copy ${label}`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
      {typeof value === 'string' ? (
        <pre className="json-text">{markRedactions(value)}</pre>
      ) : (
        <ul className="json-tree" aria-label={label}>
          <Node value={value} depth={0} openLevels={openLevels} />
        </ul>
      )}
    </div>
  )
}

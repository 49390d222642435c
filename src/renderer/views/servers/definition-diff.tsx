import { diffLines } from 'diff'
import type { ReactNode } from 'react'

/** Old and new tool definitions as a line diff of their pretty JSON. */
export function DefinitionDiff({ before, after }: { before?: Record<string, unknown>; after: Record<string, unknown> }): ReactNode {
  const parts = diffLines(before ? JSON.stringify(before, null, 2) : '', JSON.stringify(after, null, 2))
  return (
    <pre className="diff" aria-label="Definition changes">
      {parts.map((p, i) => (
        <span key={i} className={p.added ? 'diff-add' : p.removed ? 'diff-del' : 'diff-same'}>
          {p.value
            .replace(/\n$/, '')
            .split('\n')
            .map((line) => `${p.added ? '+ ' : p.removed ? '- ' : '  '}${line}`)
            .join('\n')}
          {'\n'}
        </span>
      ))}
    </pre>
  )
}

import type { ReactNode } from 'react'

/** A readable error from the core, announced to screen readers. */
export function ErrorMessage({ error, onRetry }: { error?: string; onRetry?: () => void }): ReactNode {
  if (!error) return null
  return (
    <div role="alert" className="error-banner">
      <span>{error}</span>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  )
}

/** The deadline of a request to an upstream, and how its expiry is told from other failures. */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js'
import { isCoreError } from '../errors'

/** Whether an upstream request failed by running out of time (ours or the manager's deadline). */
export function isTimeout(err: unknown): boolean {
  if (isCoreError(err)) return err.code === 'UPSTREAM_TIMEOUT'
  return err instanceof McpError && err.code === ErrorCode.RequestTimeout
}

class CallTimeout extends McpError {
  constructor(ms: number) {
    super(ErrorCode.RequestTimeout, `timed out after ${ms} ms`)
  }
}

// a guard in case an upstream transport never settles; the manager enforces the same deadline
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CallTimeout(ms)), ms + 50)
    p.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

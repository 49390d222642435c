export interface Coalescer {
  /** marks the data stale; the work runs later, at most once per interval */
  invalidate(): void
  /** runs pending work now (e.g. the user pressed refresh) */
  flush(): void
  dispose(): void
}

export interface CoalesceOptions {
  /** quiet time collected before the first run of a burst */
  delayMs: number
  /** minimum time between two runs' starts */
  intervalMs: number
}

/**
 * Turns a stream of invalidations (one per core event, possibly hundreds a second) into a few
 * runs: the first after `delayMs`, then at most one per `intervalMs`, never two at once, and
 * always one run after the last invalidation so nothing is missed.
 */
export function createCoalescer(work: () => Promise<unknown> | void, options: CoalesceOptions): Coalescer {
  let dirty = false
  let running = false
  let timer: ReturnType<typeof setTimeout> | null = null
  let lastStart = Number.NEGATIVE_INFINITY
  let disposed = false

  const schedule = (): void => {
    if (timer !== null || running || disposed || !dirty) return
    const wait = Math.max(options.delayMs, lastStart + options.intervalMs - Date.now())
    timer = setTimeout(run, wait)
  }

  const run = (): void => {
    timer = null
    if (!dirty || disposed) return
    dirty = false
    running = true
    lastStart = Date.now()
    let result: Promise<unknown> | void
    try {
      result = work()
    } catch {
      result = undefined
    }
    const done = (): void => {
      running = false
      schedule()
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      ;(result as Promise<unknown>).then(done, done)
    } else {
      done()
    }
  }

  return {
    invalidate(): void {
      dirty = true
      schedule()
    },
    flush(): void {
      dirty = true
      if (timer !== null) clearTimeout(timer)
      timer = null
      if (!running) run()
    },
    dispose(): void {
      disposed = true
      if (timer !== null) clearTimeout(timer)
      timer = null
    },
  }
}

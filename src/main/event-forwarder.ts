import type { EventBus } from '../core/events/bus'
import type { CoreEventMap, CoreEventName } from '../shared/events'
import type { IpcEventMap } from '../shared/ipc'

type Batch = IpcEventMap['core.events']

/**
 * Forwards core events to the renderer in batches (one IPC message per interval at most), so
 * a burst of calls costs the window a handful of messages, not one per event. A batch larger
 * than `maxBatch` keeps only the newest events: the renderer treats events as invalidations.
 */
export function forwardCoreEvents(
  bus: EventBus,
  send: (batch: Batch) => void,
  options: { intervalMs?: number; maxBatch?: number; setTimer?: typeof setTimeout; clearTimer?: typeof clearTimeout } = {},
): () => void {
  const interval = options.intervalMs ?? 100
  const maxBatch = options.maxBatch ?? 500
  const setTimer = options.setTimer ?? setTimeout
  const clearTimer = options.clearTimer ?? clearTimeout
  let pending: Batch = []
  let timer: ReturnType<typeof setTimeout> | null = null

  const flush = (): void => {
    timer = null
    if (!pending.length) return
    const batch = pending
    pending = []
    send(batch)
  }
  const off = bus.onAny(<K extends CoreEventName>(name: K, payload: CoreEventMap[K]) => {
    pending.push({ name, payload })
    if (pending.length > maxBatch) pending.splice(0, pending.length - maxBatch)
    if (!timer) timer = setTimer(flush, interval)
  })
  return () => {
    off()
    if (timer) clearTimer(timer)
    flush()
  }
}

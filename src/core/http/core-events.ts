/**
 * Feeds the SSE hub: every bus event, plus events for records other processes (a `wrap`)
 * appended to the same database, which this process's bus never saw.
 */
import type { ActivityRecord } from '../../shared/activity'
import type { CoreEventMap, CoreEventName } from '../../shared/events'
import type { Core } from '../core-types'
import type { SseHub } from './sse-hub'

/** Remembers the last `capacity` ids, oldest forgotten first. */
class RecentIds {
  private readonly ids = new Set<string>()
  constructor(private readonly capacity: number) {}
  add(id: string): void {
    this.ids.add(id)
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string)
  }
  has(id: string): boolean {
    return this.ids.has(id)
  }
}

type Published = { [K in CoreEventName]: { name: K; payload: CoreEventMap[K] } }[CoreEventName]

/** The live event a record written elsewhere stands for, when it has one. */
export function eventForRecord(r: ActivityRecord): Published | null {
  const server = r.server_name ?? ''
  switch (r.type) {
    case 'tool_call':
      if (r.status === 'pending') {
        return { name: 'activity.tool_call.started', payload: { id: r.id, server, tool: r.tool_name ?? '', session_id: r.session_id, timestamp: r.timestamp, trace_id: r.trace_id } }
      }
      return {
        name: 'activity.tool_call.completed',
        payload: {
          id: r.id,
          server,
          tool: r.tool_name ?? '',
          session_id: r.session_id,
          timestamp: r.timestamp,
          trace_id: r.trace_id,
          status: r.status,
          duration_ms: r.duration_ms,
          error: r.error,
        },
      }
    case 'policy_decision':
      return {
        name: 'activity.policy_decision',
        payload: {
          id: r.id,
          server: r.server_name,
          tool: r.tool_name,
          decision: r.policy?.decision ?? 'blocked',
          rule: r.policy?.rule,
          reason: r.policy?.reason ?? r.error,
          timestamp: r.timestamp,
        },
      }
    case 'quarantine_change':
      return {
        name: 'activity.quarantine_change',
        payload: {
          id: r.id,
          server,
          quarantined: r.metadata?.quarantined === true,
          reason: typeof r.metadata?.reason === 'string' ? r.metadata.reason : undefined,
          timestamp: r.timestamp,
        },
      }
    default:
      return null
  }
}

/**
 * Records older than this when they reach us are history (an import), not live activity: they
 * only invalidate (`activity.appended`) instead of each becoming a live event.
 */
export const LIVE_WINDOW_MS = 60_000

/** Wires the bus and the store's append feed into the hub; returns the unsubscribe. */
export function bridgeCoreEvents(core: Pick<Core, 'bus' | 'activity'>, hub: SseHub, now: () => number = Date.now): () => void {
  const seen = new RecentIds(50_000)
  // the store may already announce appends on the bus; only synthesize them when it does not
  let busAnnouncesAppends = false
  const offBus = core.bus.onAny((name, payload) => {
    const id = (payload as { id?: unknown }).id
    if (typeof id === 'string') seen.add(id)
    if (name === 'activity.appended') busAnnouncesAppends = true
    hub.publish(name, payload)
  })
  const offAppended = core.activity.onAppended((batch) => {
    const liveAfter = now() - LIVE_WINDOW_MS
    for (const r of batch.records) {
      if (seen.has(r.id)) continue
      seen.add(r.id)
      if (Date.parse(r.timestamp) < liveAfter) continue
      const ev = eventForRecord(r)
      if (ev) hub.publish(ev.name, ev.payload)
    }
    if (!busAnnouncesAppends && batch.records.length > 0) {
      const payload: CoreEventMap['activity.appended'] = {
        ids: batch.records.map((r) => r.id),
        types: [...new Set(batch.records.map((r) => r.type))],
        last_seq: batch.lastSeq,
      }
      hub.publish('activity.appended', payload)
    }
  })
  return () => {
    offBus()
    offAppended()
  }
}

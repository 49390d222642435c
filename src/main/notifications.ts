/**
 * Which core events become desktop notifications, as a pure mapping (tested without Electron).
 */
import type { CoreEventMap, CoreEventName } from '../shared/events'

export interface NotificationSpec {
  title: string
  body: string
  /** Approve / Deny buttons where the OS supports actions */
  approvalId?: string
  /** what a click opens */
  target: { view: 'activity' | 'servers' | 'approvals'; id?: string; server?: string }
}

export function notificationFor<K extends CoreEventName>(name: K, payload: CoreEventMap[K]): NotificationSpec | null {
  switch (name) {
    case 'activity.quarantine_change': {
      const p = payload as CoreEventMap['activity.quarantine_change']
      if (!p.quarantined) return null
      return { title: `Server quarantined: ${p.server}`, body: p.reason ?? 'Review its tools before they can be called.', target: { view: 'servers', server: p.server } }
    }
    case 'activity.policy_decision': {
      const p = payload as CoreEventMap['activity.policy_decision']
      if (p.decision !== 'deny' && p.decision !== 'blocked' && p.decision !== 'denied' && p.decision !== 'timeout') return null
      const what = [p.server, p.tool].filter(Boolean).join(':') || 'a call'
      return { title: `Blocked ${what}`, body: p.reason ?? p.rule ?? 'Blocked by policy', target: { view: 'activity', id: p.id } }
    }
    case 'activity.approval_requested': {
      const p = payload as CoreEventMap['activity.approval_requested']
      return {
        title: `Approval needed: ${p.server}:${p.tool}`,
        body: p.reason ?? p.rule ?? 'A call waits for your decision.',
        approvalId: p.id,
        target: { view: 'approvals', id: p.id },
      }
    }
    case 'servers.changed': {
      const p = payload as CoreEventMap['servers.changed']
      if (p.reason !== 'tool_changed' || !p.server) return null
      return { title: `Tool definition changed on ${p.server}`, body: 'Calls to the changed tool are blocked until you review it.', target: { view: 'servers', server: p.server } }
    }
    default:
      return null
  }
}

import type { IntentInfo } from '../../shared/activity'
import type { ApprovalDecision, ApprovalInfo } from '../../shared/servers'
import type { ActivityRecorder } from '../activity/types'
import { CoreError } from '../errors'
import { redactValue } from '../security/redact'
import type { EventBus } from '../events/bus'
import type { ApprovalService } from './types'

export type ApprovalOutcome = 'approved' | 'denied' | 'timeout'

/** who settled an approval, besides how: a person's name, or SHUTDOWN_ACTOR / a caller's cancellation */
export interface ApprovalSettlement {
  outcome: ApprovalOutcome
  actor?: string
}

/** the actor of approvals denied because the core stopped */
export const SHUTDOWN_ACTOR = 'shutdown'
/** the actor of approvals withdrawn because their caller cancelled or went away */
export const CALLER_CANCELLED_ACTOR = 'caller (cancelled)'

export interface ApprovalRequest {
  server: string
  tool: string
  args: unknown
  intent?: IntentInfo
  rule?: string
  reason?: string
  sessionId?: string
  timeoutMs: number
}

export interface ApprovalRegistry extends ApprovalService {
  /** records a pending policy_decision, announces it and resolves when decided or timed out */
  request(req: ApprovalRequest): { id: string; outcome: Promise<ApprovalSettlement> }
  /** denies a pending approval whose caller went away; false when already settled */
  cancel(id: string, reason: string): boolean
  /** denies every pending approval (shutdown) */
  close(): void
}

interface Pending {
  info: ApprovalInfo
  startedAt: number
  timer: NodeJS.Timeout
  resolve: (s: ApprovalSettlement) => void
}

/**
 * Calls waiting for a person's Approve or Deny. The pending policy_decision record's id is the
 * approval id, so the UI can link the request, the decision and the call.
 */
export function createApprovalRegistry(recorder: ActivityRecorder, bus: EventBus): ApprovalRegistry {
  const pending = new Map<string, Pending>()

  const settle = (id: string, outcome: ApprovalOutcome, actor?: string): ApprovalInfo | undefined => {
    const p = pending.get(id)
    if (!p) return undefined
    pending.delete(id)
    clearTimeout(p.timer)
    const reason =
      outcome === 'approved'
        ? `approved${actor ? ` by ${actor}` : ''}`
        : outcome === 'denied'
          ? `denied${actor ? ` by ${actor}` : ''}`
          : 'no answer before approval_timeout_s'
    recorder.complete(id, {
      status: outcome === 'approved' ? 'success' : 'blocked',
      duration_ms: Math.round(performance.now() - p.startedAt),
      policy: { decision: outcome, rule: p.info.rule, reason },
      metadata: actor ? { actor } : undefined,
    })
    const timestamp = new Date().toISOString()
    bus.emit('activity.approval_resolved', { id, decision: outcome, timestamp })
    if (outcome !== 'approved') {
      bus.emit('activity.policy_decision', { id, server: p.info.server, tool: p.info.tool, decision: outcome, rule: p.info.rule, reason, timestamp })
    }
    p.resolve({ outcome, actor })
    return p.info
  }

  return {
    request(req) {
      const now = Date.now()
      const requestedAt = new Date(now).toISOString()
      const expiresAt = new Date(now + req.timeoutMs).toISOString()
      const id = recorder.record({
        type: 'policy_decision',
        status: 'pending',
        timestamp: requestedAt,
        server_name: req.server,
        tool_name: req.tool,
        session_id: req.sessionId,
        arguments: req.args,
        intent: req.intent,
        policy: { decision: 'ask', rule: req.rule, reason: req.reason },
      })
      const info: ApprovalInfo = {
        id,
        server: req.server,
        tool: req.tool,
        // what a person sees to decide: secrets masked as in the log (the upstream gets req.args)
        arguments: redactValue(req.args, { redactPii: false }).value as ApprovalInfo['arguments'],
        intent: req.intent,
        rule: req.rule,
        reason: req.reason,
        session_id: req.sessionId,
        requested_at: requestedAt,
        expires_at: expiresAt,
      }
      const outcome = new Promise<ApprovalSettlement>((resolve) => {
        const timer = setTimeout(() => settle(id, 'timeout'), req.timeoutMs)
        pending.set(id, { info, startedAt: performance.now(), timer, resolve })
      })
      bus.emit('activity.approval_requested', {
        id,
        server: req.server,
        tool: req.tool,
        rule: req.rule,
        reason: req.reason,
        expires_at: expiresAt,
        timestamp: requestedAt,
      })
      return { id, outcome }
    },
    list: () => [...pending.values()].map((p) => p.info),
    decide(id: string, decision: ApprovalDecision, actor?: string): ApprovalInfo {
      const info = settle(id, decision === 'approve' ? 'approved' : 'denied', actor)
      if (!info) throw new CoreError('NOT_FOUND', `no pending approval ${id} (unknown, already decided or timed out)`)
      return info
    },
    cancel: (id, reason) => settle(id, 'denied', reason) !== undefined,
    close() {
      for (const id of [...pending.keys()]) settle(id, 'denied', SHUTDOWN_ACTOR)
    },
  }
}

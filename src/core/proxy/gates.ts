import type { IntentInfo, OperationType, PolicyDecisionInfo } from '../../shared/activity'
import { policyRuleLabel } from '../../shared/policy-rule'
import type { ActivityRecorder } from '../activity/types'
import type { Config } from '../config/schema'
import type { EventBus } from '../events/bus'
import { checkIntent, classifyTool, matchPolicy } from '../security/policy'
import { CALLER_CANCELLED_ACTOR, SHUTDOWN_ACTOR, type ApprovalRegistry } from './approvals'
import type { CallerContext, GateInput, UpstreamManager, UpstreamTool } from './types'

export type GateName = 'quarantine' | 'pinned_tool' | 'policy' | 'intent' | 'approval'

export interface Classification {
  operation_type: OperationType
  sensitive: boolean
  flags: string[]
}

export type GateResult =
  | { ok: true; classification: Classification }
  | {
      ok: false
      gate: GateName
      decision: PolicyDecisionInfo['decision']
      rule?: string
      reason: string
      /** the policy_decision record that holds the block */
      recordId: string
      classification?: Classification
    }

export type GateBlock = Extract<GateResult, { ok: false }>

/** A request that uses a server without calling a tool: only the quarantine gate applies. */
export interface ServerRequestInput {
  caller: CallerContext
  server: string
  method: 'prompts/get' | 'resources/read'
  /** the prompt's name or the resource's URI */
  target: string
}

export interface Gates {
  /** runs the gates in order; a block is recorded (policy_decision) before this resolves */
  check(input: GateInput, tool: UpstreamTool, signal?: AbortSignal): Promise<GateResult>
  /** the quarantine gate for prompts/get and resources/read; a block is recorded as a tool call's is */
  checkServer(input: ServerRequestInput): GateBlock | undefined
}

/** What the caller is told of a block. */
export function blockedMessage(block: GateBlock): string {
  return `Blocked by mcpproxy (${block.gate}): ${block.reason}`
}

const QUARANTINED_USE: Record<'tools/call' | ServerRequestInput['method'], string> = {
  'tools/call': 'its tools can be called',
  'prompts/get': 'its prompts can be used',
  'resources/read': 'its resources can be read',
}

interface BlockTarget {
  caller: CallerContext
  server: string
  tool?: string
  intent?: GateInput['intent']
  metadata?: Record<string, unknown>
}

export interface GateDeps {
  config: () => Config
  upstreams: UpstreamManager
  recorder: ActivityRecorder
  bus: EventBus
  approvals: ApprovalRegistry
  /**
   * Whether a person can answer an approval request here (REST, CLI, web UI, tray). False for a
   * core without HTTP (`mcpproxy stdio` on its own): an `ask` rule then denies at once, saying
   * why, instead of waiting approval_timeout_s for nobody. Default true.
   */
  approvers?: boolean
}

/** A policy rule as a sentence names it: `policy rule 'name'`, or where an unnamed one is in the config. */
function ruleInSentence(rule: string): string {
  const label = policyRuleLabel(rule)
  return label.named ? `policy rule '${label.text}'` : `policy rule ${label.number} (${label.where})`
}

/** Why an `ask` rule denies at once in a core nobody can answer approvals of. */
export const NO_APPROVER_REASON =
  'needs a person to approve it, and nobody can answer approvals of this `mcpproxy stdio` (it runs without the REST API, web UI or app); run `mcpproxy serve` or the app, and `mcpproxy stdio` bridges to it'

/**
 * The gates every proxied call passes, in order: quarantine, pinned tool definitions, policy
 * rules (with annotations and the sensitive/write lists), declared intent, human approval.
 */
/** Why an approval was denied, by who settled it (rule's reason in parentheses). */
function deniedReason(actor: string | undefined, ruleReason: string | undefined): string {
  const why = ruleReason ? ` (${ruleReason})` : ''
  if (actor === SHUTDOWN_ACTOR) return `mcpproxy stopped before anyone answered this approval${why}; the call was not made: send it again`
  if (actor === CALLER_CANCELLED_ACTOR) return `the caller cancelled while this call waited for approval${why}`
  return `a person denied this call${why}`
}

export function createGates(deps: GateDeps): Gates {
  const block = (
    input: BlockTarget,
    gate: GateName,
    reason: string,
    rule: string | undefined,
    classification?: Classification,
  ): GateBlock => {
    const timestamp = new Date().toISOString()
    const policy: PolicyDecisionInfo = { decision: 'deny', rule, reason }
    const recordId = deps.recorder.record({
      type: 'policy_decision',
      status: 'blocked',
      timestamp,
      server_name: input.server,
      tool_name: input.tool,
      session_id: input.caller.sessionId,
      client: input.caller.client,
      intent: input.intent,
      flags: classification?.flags,
      policy,
      metadata: { ...input.metadata, gate },
    })
    deps.bus.emit('activity.policy_decision', { id: recordId, server: input.server, tool: input.tool, decision: 'blocked', rule, reason, timestamp })
    return { ok: false, gate, decision: 'deny', rule, reason, recordId, classification }
  }

  const quarantine = (input: BlockTarget, method: keyof typeof QUARANTINED_USE): GateBlock | undefined =>
    deps.upstreams.quarantined(input.server)
      ? block(input, 'quarantine', `server '${input.server}' is quarantined; review and approve it before ${QUARANTINED_USE[method]}`, 'quarantine')
      : undefined

  return {
    checkServer: ({ caller, server, method, target }) =>
      quarantine({ caller, server, metadata: method === 'prompts/get' ? { method, prompt: target } : { method, uri: target } }, method),

    async check(input, tool, signal) {
      const config = deps.config()
      const quarantined = quarantine(input, 'tools/call')
      if (quarantined) return quarantined
      if (tool.pinState === 'changed') {
        return block(
          input,
          'pinned_tool',
          `tool '${input.server}:${input.tool}' changed since it was approved; it stays blocked until its new definition is re-approved`,
          'pinned_tool',
        )
      }
      if (tool.pinState === 'new') {
        // a trusted server's tools are pinned as they are listed: one without a pin is one whose pin could not be written
        return block(
          input,
          'pinned_tool',
          `tool '${input.server}:${input.tool}' has no pinned definition (pinning it failed); it stays blocked until it is pinned`,
          'pinned_tool',
        )
      }
      const classification = classifyTool(input.server, input.tool, tool.tool.annotations, {
        sensitive_tools: config.sensitive_tools,
        write_tools: config.write_tools,
      })
      const match = matchPolicy(config.policy.rules, {
        server: input.server,
        tool: input.tool,
        operation_type: classification.operation_type,
        sensitive: classification.sensitive,
      })
      if (match?.action === 'deny') {
        return block(input, 'policy', match.reason ?? `denied by ${ruleInSentence(match.rule)}`, match.rule, classification)
      }
      const intent = checkIntent(config.intent_declaration.required, input.intent as IntentInfo | undefined, classification)
      if (!intent.ok) return block(input, 'intent', intent.reason, 'intent', classification)
      if (match?.action === 'ask' && deps.approvers === false) {
        return block(input, 'approval', `this call ${NO_APPROVER_REASON}${match.reason ? ` (${match.reason})` : ''}`, match.rule, classification)
      }
      if (match?.action === 'ask') {
        const { id, outcome } = deps.approvals.request({
          server: input.server,
          tool: input.tool,
          args: input.args,
          intent: input.intent,
          rule: match.rule,
          reason: match.reason,
          sessionId: input.caller.sessionId,
          timeoutMs: config.approval_timeout_s * 1000,
        })
        // a caller that cancels (or disconnects) while waiting withdraws the request
        const onAbort = (): void => void deps.approvals.cancel(id, CALLER_CANCELLED_ACTOR)
        signal?.addEventListener('abort', onAbort, { once: true })
        const { outcome: result, actor } = await outcome
        signal?.removeEventListener('abort', onAbort)
        if (result !== 'approved') {
          const reason = result === 'timeout' ? `no approval within ${config.approval_timeout_s}s; the call was denied` : deniedReason(actor, match.reason)
          return { ok: false, gate: 'approval', decision: result === 'timeout' ? 'timeout' : 'denied', rule: match.rule, reason, recordId: id, classification }
        }
      }
      return { ok: true, classification }
    },
  }
}

/**
 * Pure decisions for the policy and intent gates: how a tool is classified, which configured
 * rule a call matches, and whether a declared intent is acceptable.
 */
import type { IntentInfo, OperationType } from '../../shared/activity'
import type { ToolAnnotationsInfo } from '../../shared/servers'
import type { PolicyRule } from '../config/schema'

export interface ToolLists {
  sensitive_tools: string[]
  write_tools: string[]
}

export interface ToolClassification {
  operation_type: OperationType
  sensitive: boolean
  /**
   * Tags stored on the record and shown in the report: `sensitive` (listed), `write` (listed in
   * write_tools), `destructive` (annotated), `assumed_write` (nothing said what it does).
   */
  flags: string[]
}

export interface PolicyCall {
  server: string
  tool: string
  operation_type: OperationType
  sensitive: boolean
}

export interface PolicyMatch {
  action: 'allow' | 'deny' | 'ask'
  /** the rule's name, or `rules[i]` */
  rule: string
  reason?: string
}

export type IntentCheck = { ok: true } | { ok: false; reason: string }

const globCache = new Map<string, RegExp>()

/** `*` matches any run of characters, `?` one character; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob)
  if (!re) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
    re = new RegExp(`^${body}$`)
    if (globCache.size > 1000) globCache.clear()
    globCache.set(glob, re)
  }
  return re
}

export function globMatch(glob: string, value: string): boolean {
  return glob === '*' || glob === value || globToRegExp(glob).test(value)
}

/** Whether a `sensitive_tools` / `write_tools` entry (`tool`, `server:tool`, globs in either part) names this tool. */
export function listMatches(list: readonly string[], server: string, tool: string): boolean {
  for (const entry of list) {
    const i = entry.indexOf(':')
    if (i < 0 ? globMatch(entry, tool) : globMatch(entry.slice(0, i), server) && globMatch(entry.slice(i + 1), tool)) return true
  }
  return false
}

/**
 * The operation a tool performs. A destructive annotation always wins; the user's write_tools list
 * comes before a readOnlyHint (an upstream cannot talk its way out of the user's list); a tool
 * nothing describes is taken to write.
 */
export function classifyTool(
  server: string,
  tool: string,
  annotations: ToolAnnotationsInfo | undefined,
  lists: ToolLists,
): ToolClassification {
  const sensitive = listMatches(lists.sensitive_tools, server, tool)
  const listedWrite = listMatches(lists.write_tools, server, tool)
  const flags: string[] = []
  if (sensitive) flags.push('sensitive')
  let operation_type: OperationType
  if (annotations?.destructiveHint === true) {
    operation_type = 'destructive'
    flags.push('destructive')
    if (listedWrite) flags.push('write')
  } else if (listedWrite) {
    operation_type = 'write'
    flags.push('write')
  } else if (annotations?.readOnlyHint === true) {
    operation_type = 'read'
  } else {
    operation_type = 'write'
    flags.push('assumed_write')
  }
  return { operation_type, sensitive, flags }
}

/**
 * The first rule matching the call (server and tool globs; the operation type and whether the tool
 * is in sensitive_tools, when the rule sets them), or null.
 */
export function matchPolicy(rules: readonly PolicyRule[], call: PolicyCall): PolicyMatch | null {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!
    if (!globMatch(r.server ?? '*', call.server) || !globMatch(r.tool ?? '*', call.tool)) continue
    if (r.operation_type !== undefined && r.operation_type !== call.operation_type) continue
    if (r.sensitive !== undefined && r.sensitive !== call.sensitive) continue
    const match: PolicyMatch = { action: r.action, rule: r.name ?? `rules[${i}]` }
    if (r.reason !== undefined) match.reason = r.reason
    return match
  }
  return null
}

const RANK: Record<OperationType, number> = { read: 0, write: 1, destructive: 2 }

/**
 * The intent gate: with `required`, a call must declare intent.operation_type; a declared type
 * weaker than the tool's (read on a write or destructive tool, write on a destructive one) is a
 * contradiction. Declaring more than the tool does is allowed. When the classification's flags
 * say the type was only assumed (`assumed_write`: no annotation or list describes the tool),
 * there is nothing to contradict and any declared type passes.
 */
export function checkIntent(
  required: boolean,
  intent: IntentInfo | undefined,
  classification: { operation_type: OperationType; flags?: readonly string[] },
): IntentCheck {
  const declared = intent?.operation_type
  if (declared === undefined) {
    if (!required) return { ok: true }
    return {
      ok: false,
      reason: intent
        ? 'intent declaration required: intent.operation_type is missing (read, write or destructive)'
        : "intent declaration required: pass intent.operation_type (read, write or destructive) with the call (call_tool's intent argument, or the request's _meta.intent)",
    }
  }
  if (classification.flags?.includes('assumed_write')) return { ok: true }
  if (RANK[declared] < RANK[classification.operation_type]) {
    return {
      ok: false,
      reason: `intent contradicts the tool: declared ${declared}, but the tool is ${classification.operation_type}`,
    }
  }
  return { ok: true }
}

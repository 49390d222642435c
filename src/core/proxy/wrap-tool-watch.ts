/**
 * What `wrap` records of the tools its server lists. Wrap passes every message through unchanged
 * and blocks nothing, so these records are the trace a user reviews:
 * - poisoning findings (the scan the core's gate uses) on a tool definition, once per definition:
 *   tool_change `poisoning_findings`, flagged tool_poisoning, the findings' kinds in detection_types;
 * - after the first complete listing of the session, a tool whose definition changed (a rug pull:
 *   tool_change `changed` with both definitions, flagged rug_pull), appeared (`added`) or
 *   disappeared (`removed`).
 * A listing in pages (nextCursor) counts once its last page arrived; a page fetched outside a
 * listing (a cursor without the first page) is left alone. At most MAX_WATCHED_TOOLS tools of a
 * listing are watched.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import type { ActivityInput } from '../../shared/activity'
import { scanTools } from '../security/poisoning'
import { hashTool, toolDefinition, type ToolDefinition } from './tool-pins'

export interface ToolWatch {
  /** One page of a tools/list answer; `first` when its request had no cursor, `last` when the answer has no nextCursor. */
  page(tools: readonly unknown[], first: boolean, last: boolean): void
}

/** Tools of one listing the watch compares (a listing beyond it is cut there, for both listings alike). */
export const MAX_WATCHED_TOOLS = 10_000

interface Listed {
  hash: string
  definition: ToolDefinition
}

/** A tool as the scan and the hash need it: a string name, and a description that is a string if there is one. */
const isTool = (t: unknown): t is Tool => {
  if (typeof t !== 'object' || t === null) return false
  const { name, description } = t as { name?: unknown; description?: unknown }
  return typeof name === 'string' && (description === undefined || typeof description === 'string')
}

/** `base` gives the fields every record of this wrap shares (server name, session, client: they can change after initialize). */
export function createToolWatch(record: (input: ActivityInput) => void, base: () => Pick<ActivityInput, 'server_name' | 'session_id' | 'client'>): ToolWatch {
  let listed: Map<string, Listed> | null = null
  /** the pages of the listing being read; null outside a listing */
  let collecting: Tool[] | null = null
  const scanned = new Set<string>()

  const change = (tool: string, action: 'added' | 'removed' | 'changed', extra: Partial<ActivityInput> = {}): void =>
    record({ type: 'tool_change', status: 'success', ...base(), tool_name: tool, ...extra, metadata: { action, transport: 'wrap', ...extra.metadata } })

  const complete = (listing: Tool[]): void => {
    // a name listed twice (a server out of spec) counts once, as first listed
    const next = new Map<string, Listed>()
    const tools: Tool[] = []
    for (const t of listing) {
      if (next.has(t.name)) continue
      next.set(t.name, { hash: hashTool(t), definition: toolDefinition(t) })
      tools.push(t)
    }
    // definitions scanned before: a server whose descriptions change at every listing does not grow this without end
    if (scanned.size > 2 * MAX_WATCHED_TOOLS) scanned.clear()
    const fresh = tools.filter((t) => !scanned.has(next.get(t.name)!.hash))
    if (fresh.length) {
      const findings = scanTools(base().server_name ?? '', fresh, [], [])
      for (const t of fresh) {
        const hash = next.get(t.name)!.hash
        scanned.add(hash)
        const mine = findings.filter((f) => f.tool === t.name)
        if (!mine.length) continue
        record({
          type: 'tool_change',
          status: 'success',
          ...base(),
          tool_name: t.name,
          flags: ['tool_poisoning'],
          detection_types: [...new Set(mine.map((f) => f.kind))],
          metadata: { action: 'poisoning_findings', transport: 'wrap', hash, findings: mine, definition: next.get(t.name)!.definition },
        })
      }
    }
    if (listed) {
      for (const [name, now] of next) {
        const before = listed.get(name)
        if (!before) change(name, 'added', { metadata: { new_hash: now.hash, new_definition: now.definition } })
        else if (before.hash !== now.hash) {
          change(name, 'changed', {
            flags: ['rug_pull'],
            metadata: { old_hash: before.hash, new_hash: now.hash, old_definition: before.definition, new_definition: now.definition },
          })
        }
      }
      for (const name of listed.keys()) if (!next.has(name)) change(name, 'removed')
    }
    listed = next
  }

  return {
    page(tools, first, last) {
      if (first) collecting = []
      if (!collecting) return
      for (const t of tools) if (collecting.length < MAX_WATCHED_TOOLS && isTool(t)) collecting.push(t)
      if (last) {
        const listing = collecting
        collecting = null
        complete(listing)
      }
    },
  }
}

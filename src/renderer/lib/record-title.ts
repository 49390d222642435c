import { relayedMessageLabel, type ActivityRecord } from '../../shared/activity'

/** The detail panel's heading for a record: what it is, in a few words. */
export function recordTitle(r: ActivityRecord | undefined): string {
  if (!r) return 'Activity'
  const message = r.type === 'mcp_message' ? relayedMessageLabel(r.metadata) : undefined
  if (message) return `Message: ${message}${r.server_name ? ` (${r.server_name})` : ''}`
  if (r.tool_name) return `${r.type === 'tool_call' ? 'Tool call' : r.type}: ${r.server_name ?? ''}:${r.tool_name}`
  return `${r.type}${r.server_name ? `: ${r.server_name}` : ''}`
}

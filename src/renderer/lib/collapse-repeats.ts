import type { ActivitySummaryRow } from '../../shared/activity'

export interface CollapsedCall {
  row: ActivitySummaryRow
  /** how many consecutive calls of the same server, tool and status it stands for */
  count: number
}

/** Collapses consecutive runs of the same server:tool with the same status into one entry ×N. */
export function collapseRepeats(rows: readonly ActivitySummaryRow[], limit: number): CollapsedCall[] {
  const out: CollapsedCall[] = []
  for (const row of rows) {
    const prev = out[out.length - 1]
    if (prev && prev.row.server_name === row.server_name && prev.row.tool_name === row.tool_name && prev.row.status === row.status && prev.row.type === row.type) {
      prev.count++
    } else {
      if (out.length === limit) break
      out.push({ row, count: 1 })
    }
  }
  return out
}

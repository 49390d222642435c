import type { ActivitySummaryRow } from '../../shared/activity'
import { collapseRepeats as collapse } from '../../shared/collapse-repeats'

export interface CollapsedCall {
  row: ActivitySummaryRow
  /** how many consecutive calls of the same server, tool and status it stands for */
  count: number
}

/** Collapses consecutive runs of the same server:tool with the same status into one entry ×N. */
export function collapseRepeats(rows: readonly ActivitySummaryRow[], limit: number): CollapsedCall[] {
  return collapse(
    rows,
    limit,
    (a, b) => a.server_name === b.server_name && a.tool_name === b.tool_name && a.status === b.status && a.type === b.type,
  ).map(({ item, count }) => ({ row: item, count }))
}

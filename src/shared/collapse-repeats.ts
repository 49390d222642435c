/**
 * Collapses consecutive items that `same` calls equal into one entry with a count, keeping at
 * most `limit` entries (the "xN" of the tray's recent calls and the dashboard's recent list).
 */
export function collapseRepeats<T>(items: readonly T[], limit: number, same: (a: T, b: T) => boolean): Array<{ item: T; count: number }> {
  const out: Array<{ item: T; count: number }> = []
  for (const item of items) {
    const last = out[out.length - 1]
    if (last && same(last.item, item)) last.count++
    else {
      if (out.length === limit) break
      out.push({ item, count: 1 })
    }
  }
  return out
}

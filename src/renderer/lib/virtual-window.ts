/** Page indexes (of `pageSize` rows) that cover rows `first..last` inclusive, clamped to `total`. */
export function pagesForRange(first: number, last: number, pageSize: number, total: number): number[] {
  if (total <= 0 || last < first) return []
  const lo = Math.max(0, Math.min(first, total - 1))
  const hi = Math.max(0, Math.min(last, total - 1))
  const pages: number[] = []
  for (let p = Math.floor(lo / pageSize); p <= Math.floor(hi / pageSize); p++) pages.push(p)
  return pages
}

/** The row at absolute `index`, from sparse pages; undefined while its page is not loaded. */
export function rowAt<T>(pages: ReadonlyMap<number, readonly T[]>, index: number, pageSize: number): T | undefined {
  return pages.get(Math.floor(index / pageSize))?.[index % pageSize]
}

/**
 * Keeps at most `max` pages: those nearest the visible pages survive. Bounds memory while the
 * user scrolls through 100,000 records.
 */
export function evictPages<T>(pages: ReadonlyMap<number, T>, visible: readonly number[], max: number): Map<number, T> {
  if (pages.size <= max) return new Map(pages)
  const centre = visible.length ? (visible[0]! + visible[visible.length - 1]!) / 2 : 0
  const keep = [...pages.keys()].sort((a, b) => Math.abs(a - centre) - Math.abs(b - centre)).slice(0, max)
  return new Map(keep.map((k) => [k, pages.get(k)!]))
}

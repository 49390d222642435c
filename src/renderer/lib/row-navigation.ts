/**
 * The row a navigation key moves the focus to in a list of `total` rows, from row `index`;
 * null when the key does not move it. `pageRows` is how many rows PageUp/PageDown skip.
 */
export function rowKeyTarget(key: string, index: number, total: number, pageRows: number): number | null {
  if (total <= 0) return null
  const last = total - 1
  const clamp = (i: number): number => Math.max(0, Math.min(last, i))
  switch (key) {
    case 'ArrowDown':
      return clamp(index + 1)
    case 'ArrowUp':
      return clamp(index - 1)
    case 'PageDown':
      return clamp(index + Math.max(1, pageRows))
    case 'PageUp':
      return clamp(index - Math.max(1, pageRows))
    case 'Home':
      return 0
    case 'End':
      return last
    default:
      return null
  }
}

/**
 * The one row of a roving tabindex that is a Tab stop: the active row while it is rendered,
 * else the first row in view (a virtualized list drops rows that scrolled away).
 */
export function tabStopIndex(active: number, rendered: readonly number[], firstInView: number | undefined): number | undefined {
  if (rendered.includes(active)) return active
  if (firstInView !== undefined && rendered.includes(firstInView)) return firstInView
  return rendered[0]
}

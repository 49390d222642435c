import { describe, expect, it } from 'vitest'
import { exportFileName } from './activity'

describe('exportFileName', () => {
  it('names every export the same way, with its UTC time', () => {
    const at = new Date(Date.UTC(2026, 11, 2, 1, 2, 3, 456))
    expect(exportFileName('json', at)).toBe('mcpproxy-activity-20261202T010203Z.jsonl')
    expect(exportFileName('csv', at)).toBe('mcpproxy-activity-20261202T010203Z.csv')
    expect(exportFileName('html', at)).toBe('mcpproxy-activity-report-20261202T010203Z.html')
  })
})

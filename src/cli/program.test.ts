import { describe, expect, it } from 'vitest'
import { hoistDataDir } from './program'

describe('global --data-dir anywhere before --', () => {
  it('moves --data-dir in front of the command and leaves wrapped arguments alone', () => {
    expect(hoistDataDir(['node', 'mcpproxy', 'serve', '--data-dir', '/d', '--listen', 'x'])).toEqual(['node', 'mcpproxy', '--data-dir', '/d', 'serve', '--listen', 'x'])
    expect(hoistDataDir(['node', 'mcpproxy', 'activity', 'list', '--data-dir=/d'])).toEqual(['node', 'mcpproxy', '--data-dir=/d', 'activity', 'list'])
    expect(hoistDataDir(['node', 'mcpproxy', 'wrap', '--', 'srv', '--data-dir', '/mine'])).toEqual(['node', 'mcpproxy', 'wrap', '--', 'srv', '--data-dir', '/mine'])
  })
})

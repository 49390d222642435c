import { describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { recordTitle } from './record-title'

const base: ActivityRecord = { id: '01JDQ0000000000000000000AA', type: 'tool_call', timestamp: '2026-11-21T11:50:10.123Z', status: 'success', server_name: 'github' }

describe('record title', () => {
  it('names a tool call by server and tool, a relayed message by its method and direction', () => {
    expect(recordTitle({ ...base, tool_name: 'create_issue' })).toBe('Tool call: github:create_issue')
    expect(recordTitle({ ...base, type: 'mcp_message', metadata: { method: 'resources/read', direction: 'client_to_server' } })).toBe('Message: resources/read (github)')
    expect(recordTitle({ ...base, type: 'mcp_message', metadata: { method: 'sampling/createMessage', direction: 'server_to_client' } })).toBe('Message: ← sampling/createMessage (github)')
    expect(recordTitle({ ...base, type: 'config_change', server_name: undefined })).toBe('config_change')
    expect(recordTitle(undefined)).toBe('Activity')
  })
})

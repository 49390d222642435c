import { describe, expect, it } from 'vitest'
import { PolicyRuleSchema, type PolicyRule } from '../config/schema'
import { checkIntent, classifyTool, globMatch, listMatches, matchPolicy } from './policy'

const none = { sensitive_tools: [], write_tools: [] }
const rules = (...input: unknown[]): PolicyRule[] => input.map((r) => PolicyRuleSchema.parse(r))

describe('classifyTool', () => {
  it('follows the annotations', () => {
    expect(classifyTool('fs', 'rm', { destructiveHint: true }, none)).toEqual({ operation_type: 'destructive', sensitive: false, flags: ['destructive'] })
    expect(classifyTool('fs', 'cat', { readOnlyHint: true }, none)).toEqual({ operation_type: 'read', sensitive: false, flags: [] })
  })

  it('takes a tool nothing describes to write', () => {
    expect(classifyTool('fs', 'x', undefined, none)).toEqual({ operation_type: 'write', sensitive: false, flags: ['assumed_write'] })
    expect(classifyTool('fs', 'x', { readOnlyHint: false, title: 'X' }, none).operation_type).toBe('write')
  })

  it('lets the write_tools list override a read-only claim, never a destructive one', () => {
    const lists = { sensitive_tools: [], write_tools: ['fs:cat', 'rm'] }
    expect(classifyTool('fs', 'cat', { readOnlyHint: true }, lists)).toEqual({ operation_type: 'write', sensitive: false, flags: ['write'] })
    expect(classifyTool('fs', 'rm', { destructiveHint: true }, lists)).toEqual({
      operation_type: 'destructive',
      sensitive: false,
      flags: ['destructive', 'write'],
    })
    expect(classifyTool('other', 'cat', { readOnlyHint: true }, lists).operation_type).toBe('read')
  })

  it('marks sensitive tools named bare, as server:tool or by glob', () => {
    const lists = { sensitive_tools: ['get_pay_info', 'hr:get_ssn', 'vault:*', '*:read_secret?'], write_tools: [] }
    const sens = (s: string, t: string) => classifyTool(s, t, { readOnlyHint: true }, lists)
    expect(sens('hr', 'get_pay_info')).toEqual({ operation_type: 'read', sensitive: true, flags: ['sensitive'] })
    expect(sens('hr', 'get_ssn').sensitive).toBe(true)
    expect(sens('other', 'get_ssn').sensitive).toBe(false)
    expect(sens('vault', 'anything').sensitive).toBe(true)
    expect(sens('x', 'read_secret2').sensitive).toBe(true)
    expect(sens('x', 'read_secret').sensitive).toBe(false)
  })
})

describe('globs', () => {
  it('treat regex characters literally', () => {
    expect(globMatch('a.b', 'a.b')).toBe(true)
    expect(globMatch('a.b', 'axb')).toBe(false)
    expect(globMatch('delete_*', 'delete_repo')).toBe(true)
    expect(globMatch('delete_*', 'undelete_repo')).toBe(false)
    expect(globMatch('(x)+', '(x)+')).toBe(true)
    expect(listMatches(['a:b:c'], 'a', 'b:c')).toBe(true)
  })
})

describe('matchPolicy', () => {
  const call = { server: 'github', tool: 'delete_repo', operation_type: 'destructive' as const, sensitive: false }

  it('returns the first matching rule with its label and reason', () => {
    const r = rules(
      { server: 'gitlab', action: 'deny' },
      { server: 'github', tool: 'delete_*', operation_type: 'destructive', action: 'deny', reason: 'no deletes' },
      { action: 'allow', name: 'catch-all' },
    )
    expect(matchPolicy(r, call)).toEqual({ action: 'deny', rule: 'rules[1]', reason: 'no deletes' })
    expect(matchPolicy(r, { ...call, tool: 'list_repos', operation_type: 'read' })).toEqual({ action: 'allow', rule: 'catch-all' })
  })

  it('skips a rule whose operation type differs', () => {
    const r = rules({ tool: 'delete_*', operation_type: 'write', action: 'deny' }, { operation_type: 'destructive', action: 'ask', name: 'confirm' })
    expect(matchPolicy(r, call)).toEqual({ action: 'ask', rule: 'confirm' })
  })

  it('matches a rule with sensitive: true only for tools in sensitive_tools, and sensitive: false only for the others', () => {
    const r = rules({ sensitive: true, action: 'ask', name: 'sensitive-ask' }, { sensitive: false, tool: 'get_*', action: 'deny', name: 'plain-get' })
    const read = { server: 'hr', tool: 'get_ssn', operation_type: 'read' as const }
    expect(matchPolicy(r, { ...read, sensitive: true })).toEqual({ action: 'ask', rule: 'sensitive-ask' })
    expect(matchPolicy(r, { ...read, sensitive: false })).toEqual({ action: 'deny', rule: 'plain-get' })
    expect(matchPolicy(rules({ sensitive: true, action: 'deny' }), { ...read, sensitive: false })).toBeNull()
    // the selector combines with the others: all must hold
    expect(matchPolicy(rules({ sensitive: true, operation_type: 'write', action: 'deny' }), { ...read, sensitive: true })).toBeNull()
  })

  it('rejects a sensitive selector that is not a boolean', () => {
    expect(PolicyRuleSchema.safeParse({ sensitive: 'yes', action: 'deny' }).success).toBe(false)
  })

  it('returns null when nothing matches or there are no rules', () => {
    expect(matchPolicy([], call)).toBeNull()
    expect(matchPolicy(rules({ server: 'other', action: 'deny' }), call)).toBeNull()
  })
})

describe('checkIntent', () => {
  const write = { operation_type: 'write' as const }
  const destructive = { operation_type: 'destructive' as const }
  const read = { operation_type: 'read' as const }

  it('allows a missing intent unless required', () => {
    expect(checkIntent(false, undefined, write)).toEqual({ ok: true })
    const r = checkIntent(true, undefined, write)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.reason).toMatch(/intent declaration required/)
    const r2 = checkIntent(true, { reason: 'because' }, write)
    expect(!r2.ok && r2.reason).toMatch(/operation_type is missing/)
  })

  it('blocks an intent weaker than the tool, even when not required', () => {
    for (const [declared, tool] of [
      ['read', write],
      ['read', destructive],
      ['write', destructive],
    ] as const) {
      const r = checkIntent(false, { operation_type: declared }, tool)
      expect(r.ok).toBe(false)
      expect(!r.ok && r.reason).toBe(`intent contradicts the tool: declared ${declared}, but the tool is ${tool.operation_type}`)
    }
  })

  it('has nothing to contradict when the tool type was only assumed', () => {
    const assumed = classifyTool('s', 'echo', undefined, none)
    expect(checkIntent(true, { operation_type: 'read' }, assumed)).toEqual({ ok: true })
    const annotated = classifyTool('s', 'rm', { destructiveHint: true }, none)
    expect(checkIntent(true, { operation_type: 'read' }, annotated).ok).toBe(false)
    const listed = classifyTool('s', 'put', undefined, { sensitive_tools: [], write_tools: ['put'] })
    expect(checkIntent(true, { operation_type: 'read' }, listed).ok).toBe(false)
  })

  it('accepts a matching or stronger intent', () => {
    expect(checkIntent(true, { operation_type: 'read' }, read)).toEqual({ ok: true })
    expect(checkIntent(true, { operation_type: 'destructive' }, read)).toEqual({ ok: true })
    expect(checkIntent(true, { operation_type: 'destructive', reason: 'cleanup' }, destructive)).toEqual({ ok: true })
  })
})

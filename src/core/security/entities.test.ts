import { describe, expect, it } from 'vitest'
import { extractEntities } from './entities'

describe('extractEntities', () => {
  it('takes ids from keys ending in id, _id or Id, and from id lists', () => {
    expect(
      extractEntities({ employee_id: 'E001', userId: 42, id: 'x1', ids: [1, 2], repo: { issueID: 7, 'node-id': 'n' }, paid: true, valid: 'yes', user_ids: ['a'] }),
    ).toEqual(['employee_id=E001', 'userId=42', 'id=x1', 'ids=1', 'ids=2', 'issueID=7', 'node-id=n', 'user_ids=a'])
  })

  it('ignores id keys with object or boolean values but walks into objects', () => {
    expect(extractEntities({ id: { inner_id: 3 }, flag_id: false, empty_id: '' })).toEqual(['inner_id=3'])
  })

  it('finds absolute, home and Windows paths and URLs in strings', () => {
    expect(
      extractEntities({
        command: 'cat /etc/hosts and ~/notes/todo.md, then C:\\Users\\me\\a.txt',
        q: 'see https://example.com/a?b=1. and s3://bucket/key',
        text: 'and/or 1/2 //comment',
      }),
    ).toEqual(['/etc/hosts', '~/notes/todo.md', 'C:\\Users\\me\\a.txt', 'https://example.com/a?b=1', 's3://bucket/key'])
  })

  it('keeps relative paths under path-like keys', () => {
    expect(extractEntities({ path: 'src/index.ts', sourcePath: './a', destination: 'b/c' })).toEqual(['src/index.ts', './a', 'b/c'])
  })

  it('deduplicates and caps', () => {
    expect(extractEntities([{ id: 1 }, { id: 1 }, '/a', '/a'])).toEqual(['id=1', '/a'])
    const many = Array.from({ length: 100 }, (_, i) => ({ id: i }))
    expect(extractEntities(many)).toHaveLength(50)
    expect(extractEntities(many, 3)).toEqual(['id=0', 'id=1', 'id=2'])
  })

  it('clips long values and survives odd input', () => {
    expect(extractEntities({ id: 'x'.repeat(500) })[0]).toHaveLength(200)
    expect(extractEntities(undefined)).toEqual([])
    expect(extractEntities(null)).toEqual([])
    expect(extractEntities('just text')).toEqual([])
    let deep: unknown = { id: 'bottom' }
    for (let i = 0; i < 50; i++) deep = { next: deep }
    expect(extractEntities(deep)).toEqual([])
  })
})

import { describe, expect, it } from 'vitest'
import { canonicalJson } from './record-codec'

/** The canonical form as first defined (hashes already stored depend on it byte for byte). */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : reference(v))).join(',') + ']'
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + reference(obj[k])).join(',') + '}'
}

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: null }], c: 'é"\n' }, u: undefined })).toBe(
      '{"a":{"c":"é\\"\\n","d":[1,{"x":null,"z":1}]},"b":1}',
    )
  })

  it('gives byte for byte the form stored hashes were computed with, for awkward values too', () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3]
    const samples: unknown[] = [
      undefined,
      null,
      -0,
      NaN,
      1e21,
      'lone \ud800 surrogate',
      [undefined, () => 1, Symbol('s')],
      sparse,
      { '10': 1, '9': 2, a: 3, B: 4, '': 5, 'é': 6, '😀': 7 },
      { f: () => 1, s: Symbol('x'), d: new Date(0), n: { k: [{ b: 2, a: 1 }] } },
      Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
      { id: '01M7Z29PWRBJH9NCWZ9RG8TE8W', type: 'tool_call', arguments: { message: 'hi' }, response: { content: [{ type: 'text', text: 'Echo: hi' }] } },
    ]
    for (const v of samples) expect(canonicalJson(v)).toBe(reference(v))
  })

  it('gives the same form for JSON data whose keys need sorting, copying, or the general walk', () => {
    const samples: unknown[] = [
      JSON.parse('{"z":{"b":[{"y":1,"x":[{"d":1,"c":2}]}],"a":null},"a":"x","m":[true,false,1.5,-0]}'),
      JSON.parse('{"a":1,"b":{"d":2,"c":3}}'),
      JSON.parse('{"a":{"c":1,"b":2},"__proto__":{"y":1,"x":2}}'),
      JSON.parse('{"__proto__":1,"a":{"c":1,"b":2}}'),
      JSON.parse('{"b":1,"10":2,"9":3,"a":{"2":1,"10":2}}'),
      JSON.parse('{"1":{"b":1,"a":2},"x":1}'),
      { b: undefined, a: { d: undefined, c: [1, { f: 1, e: 2 }] } },
      { a: [{ c: 1, b: 2 }, undefined, { e: 1, d: 2 }] },
      { b: [1, 2], a: new Date(0) },
      { a: { toJSON: () => 'x' } },
      [{ b: 1, a: 2 }, [{ d: 1, c: 2 }], 'é\u2028'],
    ]
    for (const v of samples) expect(canonicalJson(v)).toBe(reference(v))
  })
})

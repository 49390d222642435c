import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { wholeLines } from './import-lines'
import { parseItems } from './import-parse'
import { DEFAULT_ACTIVITY_SETTINGS } from './types'

async function collect(source: AsyncIterable<Buffer | string> | Iterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const item of wholeLines(source)) out.push(item)
  return out
}

async function* chunks(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text)
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

describe('wholeLines', () => {
  const text = ['{"a":"één"}', '', '{"b":"日本語テキスト"}', '{"c":"' + 'x'.repeat(50) + '"}', '{"d":1}'].join('\n') + '\n'

  it('cuts bytes into items of whole lines, whatever the chunk size, multi-byte characters included', async () => {
    for (const size of [1, 2, 3, 7, 16, 64, 1000]) {
      const items = await collect(chunks(text, size))
      expect(items.join(''), `chunks of ${size}`).toBe(text)
      for (const item of items) expect(item.endsWith('\n'), `chunks of ${size}: ${JSON.stringify(item)}`).toBe(true)
    }
  })

  it('keeps a line longer than many chunks whole, and yields a last line without a line end', async () => {
    const long = 'y'.repeat(10_000)
    const items = await collect(chunks(`first\n${long}\nlast`, 100))
    expect(items.join('')).toBe(`first\n${long}\nlast`)
    expect(items.some((i) => i.includes(long))).toBe(true)
    expect(items.at(-1)).toBe('last')
    expect(await collect(chunks('', 10))).toEqual([])
    expect(await collect(['a\nb', 'c\n', 'd'])).toEqual(['a\n', 'bc\n', 'd'])
  })

  it('gives parseItems the same lines and line numbers as one line per item', async () => {
    const lines = ['{"not json', '', '   ', '{"id":"x"}', 'also bad']
    const input = lines.join('\r\n') + '\r\n'
    const perLine = parseItems(lines, 0, DEFAULT_ACTIVITY_SETTINGS)
    const whole = parseItems(await collect(chunks(input, 5)), 0, DEFAULT_ACTIVITY_SETTINGS)
    expect(whole.lines).toBe(perLine.lines)
    expect(whole.read).toBe(perLine.read)
    expect(whole.errors).toEqual(perLine.errors)
    expect(whole.errors.map((e) => e.line)).toEqual([1, 4, 5])
  })

  it('reads a file as the CLI does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-lines-'))
    try {
      const file = join(dir, 'a.jsonl')
      const big = Array.from({ length: 5000 }, (_, i) => `{"n":${i},"pad":"${'p'.repeat(i % 97)}"}`).join('\n') + '\n'
      writeFileSync(file, big)
      const items = await collect(createReadStream(file, { highWaterMark: 4096 }))
      expect(items.length).toBeGreaterThan(1)
      expect(items.join('')).toBe(big)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

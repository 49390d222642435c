import { describe, expect, it } from 'vitest'
import { StderrRing } from './stderr-ring'

describe('StderrRing', () => {
  it('splits chunks into lines and keeps a partial line until its newline', () => {
    const ring = new StderrRing(10)
    ring.write('one\ntw')
    expect(ring.tail()).toEqual(['one', 'tw'])
    ring.write('o\r\nthree\n')
    expect(ring.tail()).toEqual(['one', 'two', 'three'])
  })

  it('keeps only the last max lines and tail(n) returns the newest n', () => {
    const ring = new StderrRing(3)
    for (let i = 1; i <= 5; i++) ring.write(`line ${i}\n`)
    expect(ring.tail()).toEqual(['line 3', 'line 4', 'line 5'])
    expect(ring.tail(2)).toEqual(['line 4', 'line 5'])
    expect(ring.size).toBe(3)
  })

  it('note() flushes a partial line before adding its own', () => {
    const ring = new StderrRing(10)
    ring.write('partial')
    ring.note('[mcpproxy] process exited')
    expect(ring.tail()).toEqual(['partial', '[mcpproxy] process exited'])
  })

  it('cuts a runaway line without a newline instead of growing forever', () => {
    const ring = new StderrRing(10)
    ring.write('x'.repeat(70_000))
    const [line] = ring.tail()
    expect(line!.length).toBeLessThanOrEqual(65_537)
  })

  it('masks secrets a server prints, in whole lines and in the partial line', () => {
    const token = 'ghp_' + 'Zq8Lm2Rt5Vx9Kp3Nw7Hd4Jf6Bc1Gs0Ty2Ua8'
    const ring = new StderrRing(10)
    ring.write(`debug: using token ${token}\nauth: Bearer ${token}`)
    const lines = ring.tail()
    expect(lines).toHaveLength(2)
    expect(lines.join('\n')).not.toContain(token)
    expect(lines[0]).toMatch(/^debug: using token \[REDACTED/)
  })
})

// Redaction cost per recorded body, against what the writer does to the same body anyway
// (JSON.stringify of the parsed value). Run: node scripts/run-ts.mjs bench/redact.ts
import { redactText, redactValue } from '../src/core/security/redact'

function timeUs(fn: () => unknown, ms = 400): number {
  for (let i = 0; i < 20; i++) fn()
  const start = performance.now()
  let n = 0
  while (performance.now() - start < ms) {
    fn()
    n++
  }
  return ((performance.now() - start) * 1000) / n
}

const rows = (n: number, extra: (i: number) => Record<string, unknown> = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({
    id: i,
    name: `item ${i}`,
    description: `Lorem ipsum dolor sit amet, consectetur adipiscing elit ${i}`,
    ts: 1732190000000 + i,
    url: `https://example.com/x/${i}`,
    ...extra(i),
  }))

const fit = (v: unknown[], bytes: number): unknown[] => {
  while (JSON.stringify(v).length > bytes) v.pop()
  return v
}

const cases: Array<[string, unknown]> = [
  ['4 KiB JSON', fit(rows(60), 4096)],
  ['64 KiB JSON', fit(rows(700), 65536)],
  ['64 KiB JSON, secrets and PII', fit(rows(700, (i) => (i % 50 === 0 ? { token: `ghp_${'a'.repeat(36)}`, mail: `u${i}@example.com` } : {})), 65536)],
  ['64 KiB prose', ['The quick brown fox jumps over the lazy dog. '.repeat(1500).slice(0, 65536)]],
]

console.log('case'.padEnd(32), 'JSON.stringify µs', 'redactText µs (ratio)', 'redactValue µs (ratio)')
for (const [name, value] of cases) {
  const text = JSON.stringify(value)
  const base = timeUs(() => JSON.stringify(value))
  const t = timeUs(() => redactText(text, { redactPii: true }))
  const v = timeUs(() => redactValue(value, { redactPii: true }))
  const cell = (us: number): string => `${us.toFixed(0)} (${(us / base).toFixed(1)}x)`
  console.log(name.padEnd(32), base.toFixed(0).padStart(17), cell(t).padStart(21), cell(v).padStart(22))
}

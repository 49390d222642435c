import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium, type Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { escapeHtml, jsonForScript, renderHtmlReport } from './report'

const XSS = '<script>alert(1)</script>'
const T0 = Date.parse('2026-11-21T10:00:00.000Z')

function rec(i: number, over: Partial<ActivityRecord> = {}): ActivityRecord {
  return {
    id: `01JDQ${String(i).padStart(21, '0')}`,
    type: 'tool_call',
    timestamp: new Date(T0 + i * 1000).toISOString(),
    session_id: `sess-${i % 3}`,
    server_name: 'hr',
    tool_name: 'get_employee',
    arguments: { employee_id: `E${i % 5}` },
    response: { content: [{ type: 'text', text: `employee ${i}` }] },
    status: 'success',
    duration_ms: 10 + i,
    client: { name: 'claude-desktop', version: '1.2' },
    ...over,
  }
}

async function* stream(records: ActivityRecord[]): AsyncIterable<ActivityRecord> {
  for (const r of records) yield r
}

const sample: ActivityRecord[] = [
  rec(0),
  rec(1, { tool_name: 'get_pay_info', arguments: { employee_id: 'E1', note: XSS }, flags: ['sensitive'], intent: { operation_type: 'read' } }),
  rec(2, { tool_name: 'submit_time_off', flags: ['write'], arguments: { employee_id: 'E2', path: '/srv/pto.json' } }),
  rec(3, { status: 'error', error: `no such employee ${XSS}`, arguments: { employee_id: 'E404' } }),
  rec(4, {
    type: 'policy_decision',
    server_name: 'github',
    tool_name: 'delete_repo',
    status: 'blocked',
    policy: { decision: 'deny', rule: 'rules[0]', reason: 'no deletes' },
    arguments: { repo_id: 99 },
  }),
  rec(5, { server_name: 'github', tool_name: 'delete_repo', flags: ['destructive'], status: 'blocked', session_id: 'sess-x', client: { name: `evil${XSS}` } }),
  rec(6, { type: 'server_change', server_name: 'hr', tool_name: undefined, session_id: undefined, arguments: undefined, response: undefined, client: undefined }),
]

function dataOf(html: string): Array<Record<string, unknown>> {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)
  expect(m).not.toBeNull()
  return JSON.parse(m![1]!) as Array<Record<string, unknown>>
}

describe('renderHtmlReport (HTML)', () => {
  it('is one self-contained document with every section', async () => {
    const html = await renderHtmlReport(stream(sample), { title: 'HR audit', generatedAt: new Date('2026-11-21T12:00:00Z'), filterDescription: 'server=hr' })
    expect(html.startsWith('<!doctype html>')).toBe(true)
    for (const id of ['summary', 'tools', 'entities', 'timeline', 'report-data']) expect(html).toContain(`id="${id}"`)
    expect(html).toContain('<title>HR audit</title>')
    expect(html).toContain('Generated 2026-11-21T12:00:00.000Z')
    expect(html).toContain('Filter: server=hr')
    expect(html).not.toMatch(/<(?:link|img|iframe)\b/i)
    expect(html).not.toMatch(/\bsrc=|\bhref=["']?https?:/i)
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none';/)
  })

  it('counts calls, sessions, clients, errors and blocked', async () => {
    const html = await renderHtmlReport(stream(sample), {})
    const stat = (k: string) => new RegExp(`data-stat="${k}">(\\d+)<`).exec(html)?.[1]
    expect(stat('Records')).toBe('7')
    expect(stat('Tool calls')).toBe('5')
    expect(stat('Sessions')).toBe('4')
    expect(stat('Clients')).toBe('2')
    expect(stat('Errors')).toBe('1')
    expect(stat('Blocked')).toBe('2')
    expect(stat('Policy decisions')).toBe('1')
    expect(html).toContain('Time span: 2026-11-21T10:00:00.000Z → 2026-11-21T10:00:06.000Z (6.0 s)')
  })

  it('classifies tools from flags, intent and the option lists', async () => {
    const html = await renderHtmlReport(stream(sample), { sensitiveTools: ['hr:get_employee'], writeTools: [] })
    const rowOf = (tool: string) => new RegExp(`<tr class="[^"]*"><td>[^<]*</td><td>${tool}</td>.*?</tr>`).exec(html)?.[0] ?? ''
    expect(rowOf('get_pay_info')).toContain('op-read')
    expect(rowOf('get_pay_info')).toContain('badge sensitive')
    expect(rowOf('submit_time_off')).toContain('op-write')
    expect(rowOf('delete_repo')).toContain('op-destructive')
    expect(rowOf('get_employee')).toContain('badge sensitive')
    expect(rowOf('get_employee')).toContain('op-unknown')
  })

  it('maps entities to the tools that touched them, from record entities or arguments', async () => {
    const extra = [
      rec(7, { entities: ['https://x.test/a'], arguments: { ignored_id: 1 } }),
      rec(8, { server_name: 'crm', tool_name: 'lookup', arguments: { employee_id: 'E0' } }),
    ]
    const html = await renderHtmlReport(stream([...sample, ...extra]), {})
    expect(html).toMatch(/<td class="mono">employee_id=E0<\/td><td class="num">2<\/td><td><span class="chip">hr:get_employee<\/span> <span class="chip">crm:lookup<\/span><\/td><td class="num">2<\/td>/)
    expect(html).toMatch(/<td class="mono">employee_id=E1<\/td><td class="num">1<\/td><td><span class="chip">hr:get_pay_info<\/span><\/td>/)
    expect(html).toContain('<td class="mono">/srv/pto.json</td>')
    // blocked attempts (the policy decision and the blocked call) touched nothing
    expect(html).not.toContain('repo_id=99')
    expect(html).toContain('<td class="mono">https://x.test/a</td>')
    expect(html).not.toContain('ignored_id=1')
  })

  it('never lets record text become markup', async () => {
    const html = await renderHtmlReport(stream(sample), { title: XSS, filterDescription: XSS })
    expect(html).not.toContain('<script>alert(1)')
    expect(html.match(/<script\b/g)).toHaveLength(2)
    expect(html).toContain(`<title>${escapeHtml(XSS)}</title>`)
    expect(html).toContain('evil&lt;script&gt;alert(1)&lt;/script&gt;')
    const events = dataOf(html)
    expect(events[1]!.a).toContain(XSS)
    expect(events[3]!.e).toBe(`no such employee ${XSS}`)
  })

  it('embeds the timeline sorted by time, bodies capped, with a budget', async () => {
    const big = rec(9, { timestamp: '2026-11-21T09:00:00.000Z', response: 'x'.repeat(10_000) })
    const html = await renderHtmlReport(stream([big, ...sample]), { maxBodyChars: 100, bodyBudgetChars: 300 })
    const events = dataOf(html)
    expect(events[0]!.id).toBe(big.id)
    expect(events[0]!.r).toMatch(/^x{100}… \[9900 more characters in the log\]$/)
    expect(events.some((e) => e.om === true)).toBe(true)
    expect(html).toContain('left out to keep this file small')
  })

  it('renders an empty report', async () => {
    const html = await renderHtmlReport([], {})
    expect(dataOf(html)).toEqual([])
    expect(html).toContain('No tool calls')
    expect(html).toContain('Time span: —')
  })

  it('escapes helpers completely', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
    const s = jsonForScript({ a: '</script><!-- & -->' })
    expect(s).not.toMatch(/[<>&]/)
    expect(JSON.parse(s)).toEqual({ a: '</script><!-- & -->' })
  })

  it('builds a 100,000-event report in bounded memory', async () => {
    async function* many(): AsyncIterable<ActivityRecord> {
      for (let i = 0; i < 100_000; i++) {
        yield rec(i, {
          status: i % 50 === 0 ? 'error' : 'success',
          error: i % 50 === 0 ? 'boom' : undefined,
          arguments: { employee_id: `E${i % 1000}`, query: `find things ${i}` },
          response: { content: [{ type: 'text', text: 'r'.repeat(200) }] },
        })
      }
    }
    global.gc?.()
    const before = process.memoryUsage().heapUsed
    const html = await renderHtmlReport(many(), {})
    const grown = process.memoryUsage().heapUsed - before
    const events = dataOf(html)
    expect(events).toHaveLength(100_000)
    expect(html).toMatch(/data-stat="Errors">2000</)
    console.log(`100k report: ${(html.length / 1e6).toFixed(1)} MB of HTML, heap grew ${(grown / 1e6).toFixed(0)} MB`)
    expect(grown).toBeLessThan(600_000_000)
  })
})

describe('renderHtmlReport in Chromium', () => {
  let browser: Browser
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'report-'))
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  afterAll(async () => {
    await browser?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function open(html: string) {
    const file = join(dir, `r-${Math.random().toString(36).slice(2)}.html`)
    writeFileSync(file, html)
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`))
    await page.goto(pathToFileURL(file).href)
    return { page, problems }
  }

  it('runs its script under its own CSP, expands events and never runs record text', async () => {
    const { page, problems } = await open(await renderHtmlReport(stream(sample), { title: XSS }))
    await expect.poll(() => page.locator('#rows tr.ev').count()).toBe(7)
    await page.locator('#rows tr.ev', { hasText: 'get_pay_info' }).click()
    const detail = page.locator('#rows tr.detail')
    await expect.poll(() => detail.count()).toBe(1)
    expect(await detail.textContent()).toContain(XSS)
    expect(await detail.locator('script').count()).toBe(0)
    await page.fill('#q', 'no such employee')
    await expect.poll(() => page.locator('#rows tr.ev').count()).toBe(1)
    await page.fill('#q', '')
    await page.selectOption('#kind', 'problem')
    await expect.poll(() => page.locator('#rows tr.ev').count()).toBe(3)
    expect(await page.title()).toBe(XSS)
    expect(problems).toEqual([])
    await page.close()
  })

  it('pages 100,000 events 200 rows at a time', async () => {
    const records = Array.from({ length: 100_000 }, (_, i) => rec(i, { tool_name: i === 99_999 ? 'needle_tool' : 'get_employee' }))
    const { page, problems } = await open(await renderHtmlReport(stream(records), {}))
    await expect.poll(() => page.locator('#rows tr.ev').count(), { timeout: 20_000 }).toBe(200)
    expect(await page.textContent('#page')).toBe('Events 1–200 of 100000')
    await page.click('#next')
    expect(await page.textContent('#page')).toBe('Events 201–400 of 100000')
    await page.fill('#q', 'needle_tool')
    await expect.poll(() => page.textContent('#page')).toBe('Events 1–1 of 1 (of 100000)')
    expect(await page.locator('#rows tr').count()).toBe(1)
    expect(problems).toEqual([])
    await page.close()
  })
})

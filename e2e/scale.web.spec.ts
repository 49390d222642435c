import { monotonicFactory } from 'ulid'
import { expect, SCREENSHOTS, test } from './helpers/fixtures'

const N = 100_000

test('100,000 matching records: the count is exact, the DOM holds a few dozen rows, deep rows load by offset', async ({ page, core }) => {
  test.setTimeout(240_000)
  // two days ago, one record a second: older than anything the other tests record
  const start = Date.now() - 2 * 86_400_000 - N * 1000
  const ulid = monotonicFactory()
  const lines: string[] = []
  for (let n = 0; n < N; n++) {
    const t = start + n * 1000
    lines.push(JSON.stringify({ id: ulid(t), type: 'tool_call', timestamp: new Date(t).toISOString(), server_name: 'bulk', tool_name: `bulk-${n}`, status: n % 97 === 0 ? 'error' : 'success', duration_ms: n % 500 }))
  }
  const t0 = Date.now()
  const res = await core.importLines(lines.join('\n') + '\n')
  expect(res.status, res.body).toBe(200)
  expect((JSON.parse(res.body) as { data: { imported: number } }).data.imported).toBe(N)
  const importMs = Date.now() - t0
  const t1 = Date.now()
  await page.goto(`${core.uiUrl}#/activity?server=bulk`)
  const table = page.getByRole('table', { name: 'Activity' })
  await expect(page.getByRole('status').filter({ hasText: /records?$/ })).toHaveText('100,000 records')
  await expect(table).toHaveAttribute('aria-rowcount', String(N + 1))
  const bodyRows = table.getByRole('rowgroup').nth(1).getByRole('row')
  // newest first: the row at index i is record N-1-i
  await expect(bodyRows.first()).toContainText(`bulk-${N - 1}`)
  expect(await bodyRows.count()).toBeLessThan(100)
  console.log(`[scale] import of ${N} records: ${importMs} ms; first rows on screen: ${Date.now() - t1} ms`)

  const scroller = page.locator('.tbody-scroll')
  for (const fraction of [0.5, 0.9, 0.25]) {
    // rows are 34 px high (ROW_HEIGHT): the first row in view follows from scrollTop
    const firstIndex = await scroller.evaluate((el, f) => {
      el.scrollTop = el.scrollHeight * f
      return Math.floor(el.scrollTop / 34)
    }, fraction)
    const row = page.locator(`[role=row][data-index="${firstIndex + 5}"]`)
    await expect(row).toContainText(`bulk-${N - 1 - (firstIndex + 5)}`)
    expect(await bodyRows.count()).toBeLessThan(100)
  }
  // a fast drag from top to bottom, one position per 16 ms frame: rows still land where it stops
  let pageRequests = 0
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/activity?')) pageRequests++
  })
  const positions = 60
  await scroller.evaluate(async (el, n) => {
    for (let i = 0; i <= n; i++) {
      el.scrollTop = (el.scrollHeight - el.clientHeight) * (i / n)
      await new Promise((r) => setTimeout(r, 16))
    }
  }, positions)
  await expect(bodyRows.last()).toContainText('bulk-0')
  console.log(`[scale] drag over ${positions} positions through ${N} rows: ${pageRequests} page requests; ${await bodyRows.count()} rows in the DOM`)
  expect(await bodyRows.count()).toBeLessThan(100)
  await page.screenshot({ path: `${SCREENSHOTS}/activity-100k-scrolled.png` })
})

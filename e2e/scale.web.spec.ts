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
  const res = await core.rest('/api/v1/activity/import', { method: 'POST', body: lines.join('\n') + '\n', headers: { 'Content-Type': 'application/x-ndjson' } })
  expect(res.status, await res.clone().text()).toBe(200)
  expect(((await res.json()) as { data: { imported: number } }).data.imported).toBe(N)

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
    await scroller.evaluate((el, f) => (el.scrollTop = el.scrollHeight * f), fraction)
    const firstIndex = await scroller.evaluate((el) => {
      const rows = [...el.querySelectorAll('[role=row][data-index]')]
      const top = el.getBoundingClientRect().top
      const visible = rows.filter((r) => r.getBoundingClientRect().bottom > top + 1)
      return Math.min(...visible.map((r) => Number(r.getAttribute('data-index'))))
    })
    const row = page.locator(`[role=row][data-index="${firstIndex + 5}"]`)
    await expect(row).toContainText(`bulk-${N - 1 - (firstIndex + 5)}`)
    expect(await bodyRows.count()).toBeLessThan(100)
  }
  await page.screenshot({ path: `${SCREENSHOTS}/activity-100k-scrolled.png` })
})

import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, SCREENSHOTS, test } from './helpers/fixtures'

async function openActivity(page: Page, uiUrl: string, query = ''): Promise<void> {
  await page.goto(`${uiUrl}#/activity${query ? `?${query}` : ''}`)
  await expect(page.getByRole('table', { name: 'Activity' })).toBeVisible()
}

const rows = (page: Page) => page.getByRole('table', { name: 'Activity' }).getByRole('rowgroup').nth(1).getByRole('row')

test('the table shows calls made through /mcp, and the key leaves the URL', async ({ page, core, mcp }) => {
  const result = await mcp.callTool({ name: 'everything__echo', arguments: { message: 'hello-table' } })
  expect(JSON.stringify(result.content)).toContain('hello-table')
  await openActivity(page, core.uiUrl)
  expect(page.url()).not.toContain('apikey')
  const echoRow = rows(page).filter({ hasText: 'echo' }).first()
  await expect(echoRow).toBeVisible()
  await expect(echoRow).toContainText('everything')
  await expect(echoRow).toContainText('success')
  await page.screenshot({ path: `${SCREENSHOTS}/activity-table.png` })
})

test('the detail panel opens on click and on Enter, shows the arguments, and Escape closes it', async ({ page, core, mcp }) => {
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'detail-arguments-42' } })
  await openActivity(page, core.uiUrl, 'q=detail-arguments-42')
  const row = rows(page).filter({ hasText: 'echo' }).first()
  await row.click()
  const panel = page.getByRole('dialog', { name: /everything:echo/ })
  await expect(panel).toBeVisible()
  await expect(panel.getByRole('region', { name: 'Arguments' }).or(panel.locator('section[aria-labelledby="detail-args"]'))).toContainText('detail-arguments-42')
  await expect(panel).toContainText('Verify chain')
  // a small response opens completely: its text shows without a click
  const response = panel.locator('section[aria-labelledby="detail-response"]')
  await expect(response.getByRole('list', { name: 'response' })).toContainText('Echo: detail-arguments-42')
  await expect(response.locator('.json-toggle[aria-expanded="false"]')).toHaveCount(0)
  await page.screenshot({ path: `${SCREENSHOTS}/activity-detail.png` })
  await page.keyboard.press('Escape')
  await expect(panel).toBeHidden()

  await row.focus()
  await page.keyboard.press('Enter')
  await expect(page.getByRole('dialog', { name: /everything:echo/ })).toBeVisible()
  await page.getByRole('button', { name: 'Close details' }).click()
  await expect(page.getByRole('dialog')).toBeHidden()
})

test('rows are reachable with the keyboard: Tab into the table, arrows move between rows', async ({ page, core, mcp }) => {
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'keyboard-1' } })
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'keyboard-2' } })
  await openActivity(page, core.uiUrl)
  const first = rows(page).first()
  await first.focus()
  await expect(first).toBeFocused()
  await page.keyboard.press('ArrowDown')
  await expect(page.locator('[role=row][data-index="1"]')).toBeFocused()
  await page.keyboard.press('ArrowUp')
  await expect(page.locator('[role=row][data-index="0"]')).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByRole('dialog')).toBeVisible()
  await page.keyboard.press('Escape')
  await expect(page.getByRole('dialog')).toBeHidden()
  await expect(page.locator('[role=row][data-index="0"]')).toBeFocused()
})

test('the table is one Tab stop (a roving tabindex): Home/End/PageUp/PageDown move, Tab goes on to the detail panel', async ({ page, core, mcp }) => {
  const n = 40
  for (let i = 0; i < n; i++) await mcp.callTool({ name: 'everything__echo', arguments: { message: `roving-${i}` } })
  await openActivity(page, core.uiUrl, 'q=roving')
  await expect(page.getByRole('status').filter({ hasText: /records?$/ })).toHaveText(`${n} records`)
  const row = (i: number) => page.locator(`[role=row][data-index="${i}"]`)
  await expect(row(0)).toContainText('echo')
  await expect(page.locator('.tbody [role=row][tabindex="0"]')).toHaveCount(1)

  // Tab from the control before the table lands on its first row, the next Tab leaves the table
  await page.getByRole('button', { name: 'HTML report' }).focus()
  await page.keyboard.press('Tab')
  await expect(row(0)).toBeFocused()
  await page.keyboard.press('Tab')
  await expect(page.locator('.tbody [role=row]:focus')).toHaveCount(0)
  await page.keyboard.press('Shift+Tab')
  await expect(row(0)).toBeFocused()

  await page.keyboard.press('End')
  await expect(row(n - 1)).toBeFocused()
  await expect(row(n - 1)).toContainText('echo')
  await page.keyboard.press('Home')
  await expect(row(0)).toBeFocused()
  await page.keyboard.press('PageDown')
  const paged = Number(await page.locator('.tbody [role=row]:focus').getAttribute('data-index'))
  expect(paged).toBeGreaterThan(1)
  expect(paged).toBeLessThan(n - 1)
  await page.keyboard.press('PageUp')
  await expect(row(0)).toBeFocused()
  await page.keyboard.press('ArrowDown')
  await page.keyboard.press('ArrowDown')
  await expect(row(2)).toBeFocused()
  await expect(row(2)).toHaveAttribute('tabindex', '0')
  await expect(page.locator('.tbody [role=row][tabindex="0"]')).toHaveCount(1)

  // the focus leaves the table and comes back to the row it left
  await page.keyboard.press('Shift+Tab')
  await expect(page.locator('.tbody [role=row]:focus')).toHaveCount(0)
  await page.keyboard.press('Tab')
  await expect(row(2)).toBeFocused()

  // Enter opens the detail; from the row one Tab reaches the panel
  await page.keyboard.press('Enter')
  const panel = page.getByRole('dialog')
  await expect(panel).toBeVisible()
  await row(2).focus()
  await page.keyboard.press('Tab')
  await expect(panel.getByRole('button', { name: 'Close details' })).toBeFocused()
  await page.keyboard.press('Escape')
  await expect(panel).toBeHidden()
  await expect(row(2)).toBeFocused()
})

test('a wrong key shows a readable error instead of a blank page', async ({ page, core }) => {
  await page.goto(`${core.base}/ui/?apikey=not-the-key#/activity`)
  await expect(page.getByRole('alert').first()).toContainText(/Open the UI from the tray/)
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible()
  // the pill names the cause (it said "offline" while the core was right there)
  await expect(page.getByRole('status', { name: /Live updates/ })).toContainText('wrong API key')
  await page.screenshot({ path: `${SCREENSHOTS}/error-unauthorized.png` })
})

test('filters on status, server and search are applied by the core and kept in the URL', async ({ page, core, mcp }) => {
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'filter-ok-1' } })
  // the deny rule blocks get-env
  await mcp.callTool({ name: 'everything__get-env', arguments: {} }).catch(() => undefined)
  await openActivity(page, core.uiUrl)

  const statusRequest = page.waitForRequest((r) => r.url().includes('/api/v1/activity?') && r.url().includes('status=blocked'))
  await page.getByRole('button', { name: /^Status/ }).click()
  await page.getByRole('group', { name: 'Status' }).getByRole('checkbox', { name: /^blocked/ }).check()
  await statusRequest
  await page.keyboard.press('Escape')
  await expect(page).toHaveURL(/status=blocked/)
  await expect(rows(page).first()).toContainText('blocked')
  const blockedCount = (await core.restData<{ count: number }>('/api/v1/activity/count?status=blocked')).count
  expect(blockedCount).toBeGreaterThan(0)
  await expect(page.getByRole('status').filter({ hasText: /records?$/ })).toHaveText(`${blockedCount} record${blockedCount === 1 ? '' : 's'}`)
  for (const text of await rows(page).allInnerTexts()) expect(text).toContain('blocked')
  await expect(page.getByRole('listitem').filter({ hasText: 'Status: blocked' })).toBeVisible()
  await page.screenshot({ path: `${SCREENSHOTS}/activity-filter-status.png` })

  await page.getByRole('button', { name: 'Remove filter Status: blocked' }).click()
  await expect(page).not.toHaveURL(/status=blocked/)

  const serverRequest = page.waitForRequest((r) => r.url().includes('/api/v1/activity?') && r.url().includes('server=newcomer'))
  await page.getByLabel('Server', { exact: true }).focus()
  await page.getByLabel('Server', { exact: true }).selectOption('newcomer')
  await serverRequest
  for (const text of await rows(page).allInnerTexts()) expect(text).toContain('newcomer')

  await page.getByRole('button', { name: 'Clear all' }).click()
  const searchRequest = page.waitForRequest((r) => r.url().includes('/api/v1/activity?') && r.url().includes('q=filter-ok-1'))
  await page.getByLabel('Search', { exact: true }).fill('filter-ok-1')
  await searchRequest
  await expect(page.getByRole('status').filter({ hasText: /records?$/ })).toHaveText('1 record')
  await expect(rows(page)).toHaveCount(1)
  await expect(rows(page).first()).toContainText('echo')

  // the filter state survives a reload: it lives in the URL
  await page.reload()
  await expect(page.getByLabel('Search', { exact: true })).toHaveValue('filter-ok-1')
  await expect(rows(page)).toHaveCount(1)
})

test('Type and Status are dropdowns of checkboxes: counts shown, each check filters, Escape closes', async ({ page, core, mcp }) => {
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'dropdown-1' } })
  await mcp.callTool({ name: 'everything__get-env', arguments: {} }).catch(() => undefined)
  await openActivity(page, core.uiUrl)
  const button = page.getByRole('button', { name: /^Type/ })
  await expect(button).toHaveAttribute('aria-expanded', 'false')
  await expect(button).toHaveAccessibleName('Type Any')
  await button.click()
  await expect(button).toHaveAttribute('aria-expanded', 'true')
  const group = page.getByRole('group', { name: 'Type' })
  // each value with its count, as the select showed them
  await expect(group.getByRole('checkbox')).toHaveCount(9)
  await expect(group.getByRole('checkbox', { name: /^tool_call/ })).toHaveAccessibleName(/^tool_call \([1-9]\d*\)$/)

  await group.getByRole('checkbox', { name: /^tool_call/ }).check()
  await expect(page).toHaveURL(/type=tool_call(?!%2C|,)/)
  await group.getByRole('checkbox', { name: /^policy_decision/ }).check()
  await expect(page).toHaveURL(/type=tool_call(%2C|,)policy_decision/)
  await expect(page.getByRole('listitem').filter({ hasText: 'Type: policy_decision' })).toBeVisible()
  const both = (await core.restData<{ count: number }>('/api/v1/activity/count?type=tool_call,policy_decision')).count
  await expect(page.getByRole('status').filter({ hasText: /records?$/ })).toHaveText(`${both.toLocaleString('en-US')} records`)
  for (const text of await rows(page).allInnerTexts()) expect(text).toMatch(/tool_call|policy_decision/)
  await page.screenshot({ path: `${SCREENSHOTS}/activity-filter-type-dropdown.png` })

  // the keyboard: arrows move between the checkboxes, Escape closes and gives the focus back
  await group.getByRole('checkbox', { name: /^tool_call/ }).focus()
  await page.keyboard.press('ArrowDown')
  await expect(group.getByRole('checkbox', { name: /^policy_decision/ })).toBeFocused()
  await page.keyboard.press('Space')
  await expect(page).toHaveURL(/type=tool_call(?!%2C|,)/)
  await page.keyboard.press('Escape')
  await expect(group).toBeHidden()
  await expect(button).toHaveAttribute('aria-expanded', 'false')
  await expect(button).toBeFocused()
  await expect(button).toContainText('tool_call')

  // ArrowDown on the button opens it on the first checkbox; a click outside closes it
  await page.getByRole('button', { name: /^Status/ }).press('ArrowDown')
  const statuses = page.getByRole('group', { name: 'Status' })
  await expect(statuses.getByRole('checkbox').first()).toBeFocused()
  await page.getByRole('heading', { name: 'Activity log' }).click()
  await expect(statuses).toBeHidden()
  await page.getByRole('button', { name: 'Clear all' }).click()
  await expect(page).not.toHaveURL(/type=/)
})

test('live: new calls appear without reloading; paused shows an "N new" banner', async ({ page, core, mcp }) => {
  await openActivity(page, core.uiUrl, 'type=tool_call')
  await expect(page.getByRole('status', { name: 'Live updates open' })).toBeVisible()
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'live-1' } })
  await page.getByLabel('Search', { exact: true }).fill('')
  await expect(rows(page).first()).toContainText('echo')
  const before = await page.getByRole('status').filter({ hasText: /records?$/ }).innerText()
  await mcp.callTool({ name: 'everything__get-tiny-image', arguments: {} })
  await expect(rows(page).first()).toContainText('get-tiny-image')
  await expect(page.getByRole('status').filter({ hasText: /records?$/ })).not.toHaveText(before)

  await page.getByLabel('Auto-refresh').uncheck()
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'while-paused' } })
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'while-paused-2' } })
  const banner = page.getByRole('button', { name: /^2 new/ })
  await expect(banner).toBeVisible()
  await expect(rows(page).first()).toContainText('get-tiny-image')
  await page.screenshot({ path: `${SCREENSHOTS}/activity-new-banner.png` })
  await banner.click()
  await expect(banner).toBeHidden()
  await expect(rows(page).first()).toContainText('echo')
})

test('export downloads JSON Lines and CSV of exactly the current filters', async ({ page, core, mcp }) => {
  await mcp.callTool({ name: 'everything__echo', arguments: { message: 'export-me' } })
  await openActivity(page, core.uiUrl, 'server=everything&type=tool_call')
  await expect(rows(page).first()).toBeVisible()

  const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'JSON Lines' }).click()])
  // a one-use token opened it: the key is nowhere in the link the browser keeps
  expect(jsonl.url()).toContain('download_token=')
  expect(jsonl.url()).not.toContain('apikey')
  const lines = readFileSync(await jsonl.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { server_name: string; type: string })
  const expected = (await core.restData<{ count: number }>('/api/v1/activity/count?server=everything&type=tool_call')).count
  expect(lines.length).toBe(expected)
  expect(lines.every((r) => r.server_name === 'everything' && r.type === 'tool_call')).toBe(true)

  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'CSV' }).click()])
  const csvText = readFileSync(await csv.path(), 'utf8').trim().split('\n')
  expect(csvText.length).toBe(expected + 1)
  expect(csvText[0]).toContain('server_name')
})

test('the dashboard summarises today and collapses repeated calls', async ({ page, core, mcp }) => {
  for (let i = 0; i < 3; i++) await mcp.callTool({ name: 'everything__get-annotated-message', arguments: { messageType: 'success' } })
  await page.goto(`${core.uiUrl}#/dashboard`)
  const widget = page.getByRole('region', { name: 'Tool call activity' })
  await expect(widget).toBeVisible()
  await expect(widget.getByText(/everything:get-annotated-message\s*×3/)).toBeVisible()
  await expect(widget.getByRole('img', { name: /Calls per hour/ })).toBeVisible()
  await page.screenshot({ path: `${SCREENSHOTS}/dashboard.png` })
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.screenshot({ path: `${SCREENSHOTS}/dashboard-dark.png` })
  await widget.getByRole('link', { name: 'View all' }).click()
  await expect(page.getByRole('table', { name: 'Activity' })).toBeVisible()
})

test('a secret in the arguments shows as a highlighted redaction marker with its detection type', async ({ page, core, mcp }) => {
  const token = `ghp_${'A1b2C3d4E5'.repeat(4).slice(0, 36)}`
  await mcp.callTool({ name: 'everything__echo', arguments: { message: `deploy with ${token} please` } })
  await openActivity(page, core.uiUrl, 'q=deploy')
  await rows(page).filter({ hasText: 'echo' }).first().click()
  const panel = page.getByRole('dialog', { name: /everything:echo/ })
  const marker = panel.locator('section[aria-labelledby="detail-args"] mark.redacted')
  await expect(marker.first()).toHaveText('[REDACTED:github_token]')
  await expect(panel.getByText('detected: github_token')).toBeVisible()
  await expect(panel).not.toContainText(token)
  await page.screenshot({ path: `${SCREENSHOTS}/activity-detail-redacted.png` })
})

test('a burst of calls is coalesced: the page refetches far less often than events arrive', async ({ page, core, mcp }) => {
  await openActivity(page, core.uiUrl)
  await expect(page.getByRole('status', { name: 'Live updates open' })).toBeVisible()
  let listRequests = 0
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/activity?') || r.url().includes('/api/v1/activity/count')) listRequests++
  })
  const calls = 300
  await Promise.all(Array.from({ length: calls }, (_, i) => mcp.callTool({ name: 'everything__echo', arguments: { message: `burst-${i}` } })))
  // every call emits at least started + completed; the last refetch shows the last call
  const countText = page.getByRole('status').filter({ hasText: /records?$/ })
  await expect
    .poll(async () => {
      const rest = (await core.restData<{ count: number }>('/api/v1/activity/count')).count
      return (await countText.innerText()) === `${rest.toLocaleString('en-US')} records`
    })
    .toBe(true)
  console.log(`[burst] ${calls} calls (≥ ${calls * 2} events) caused ${listRequests} activity requests from the page`)
  expect(listRequests).toBeLessThan(calls / 5)
  await expect(rows(page).first()).toContainText('echo')
})

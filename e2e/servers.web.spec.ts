import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, SCREENSHOTS, test } from './helpers/fixtures'

test('quarantine review: a quarantined server shows its tools, Approve takes it out of quarantine', async ({ page, core }) => {
  await page.goto(`${core.uiUrl}#/servers`)
  const row = page.getByRole('row', { name: /newcomer/ })
  await expect(row).toContainText('quarantined')
  await row.getByRole('link', { name: 'Review' }).click()
  await expect(page.getByRole('heading', { name: 'Review newcomer' })).toBeVisible()
  const echo = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'echo', exact: true }) })
  await expect(echo).toContainText(/echo/i)
  await echo.getByText('Input schema').click()
  await expect(echo.getByRole('list', { name: 'echo input schema' })).toContainText('message')
  await page.screenshot({ path: `${SCREENSHOTS}/quarantine-review.png`, fullPage: true })

  await page.getByRole('button', { name: 'Approve', exact: true }).click()
  await expect(page.getByRole('status').filter({ hasText: 'newcomer approved' })).toBeVisible()
  await expect(page.getByText(/State: approved/)).toBeVisible()
  const servers = (await core.restData<{ servers: Array<{ name: string; quarantined: boolean }> }>('/api/v1/servers')).servers
  expect(servers.find((s) => s.name === 'newcomer')?.quarantined).toBe(false)
})

test('servers list shows health, protocol and tool count, and shows logs', async ({ page, core }) => {
  await page.goto(`${core.uiUrl}#/servers`)
  const row = page.getByRole('row', { name: /everything/ }).first()
  await expect(row).toContainText('stdio')
  await expect(row).toContainText('13')
  await expect(row).toContainText(/Connected/)
  await row.getByRole('button', { name: 'Logs of everything' }).click()
  await expect(page.getByRole('region', { name: 'Logs of everything' })).toBeVisible()
  await page.screenshot({ path: `${SCREENSHOTS}/servers.png` })
})

test('a call held by an ask rule shows under approvals; Approve lets it finish', async ({ page, core, mcp }) => {
  const call = mcp.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 40 } })
  await page.goto(`${core.uiUrl}#/approvals`)
  const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'everything:get-sum' }) })
  await expect(card).toBeVisible()
  await expect(card).toContainText('ask-sum')
  await expect(card.getByRole('timer')).toContainText(/left/)
  await expect(card).toContainText('40')
  await page.screenshot({ path: `${SCREENSHOTS}/approvals.png` })
  await card.getByRole('button', { name: 'Approve' }).click()
  const result = await call
  expect(JSON.stringify(result.content)).toContain('42')
  await expect(card).toBeHidden()
})

test('an approval held by a rule without a name names the rule by its number, not as "rules[2]"', async ({ page, core, mcp }) => {
  type Rules = { config: { policy: { rules: unknown[] } } }
  const file = join(core.dataDir, 'mcp_config.json')
  const original = readFileSync(file, 'utf8')
  const config = JSON.parse(original) as { policy: { rules: unknown[] } }
  config.policy.rules.push({ server: 'everything', tool: 'get-resource-links', action: 'ask', reason: 'links need a look' })
  // a live edit of the file: the core applies it
  writeFileSync(file, JSON.stringify(config, null, 2))
  try {
    await expect.poll(async () => (await core.restData<Rules>('/api/v1/config')).config.policy.rules.length).toBe(3)
    const call = mcp.callTool({ name: 'everything__get-resource-links', arguments: { count: 1 } }).catch((err: unknown) => err)
    await page.goto(`${core.uiUrl}#/approvals`)
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'everything:get-resource-links' }) })
    await expect(card).toBeVisible()
    const rule = card.locator('dt', { hasText: 'Rule' }).locator('+ dd')
    await expect(rule).toHaveText('Policy rule 3 (unnamed, policy.rules[2] in mcp_config.json)')
    await expect(card).toContainText('links need a look')
    await card.getByRole('button', { name: 'Deny' }).click()
    await call
    await expect(card).toBeHidden()
  } finally {
    writeFileSync(file, original)
    await expect.poll(async () => (await core.restData<Rules>('/api/v1/config')).config.policy.rules.length).toBe(2)
  }
})

test('adding a server lands it in quarantine and opens its review', async ({ page, core }) => {
  await page.goto(`${core.uiUrl}#/add-server`)
  await page.getByLabel('Name').fill('added-by-ui')
  await page.getByLabel('Command', { exact: true }).fill(`${process.execPath} node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio`)
  await page.getByRole('button', { name: 'Add (quarantined)' }).click()
  await expect(page.getByRole('heading', { name: 'Review added-by-ui' })).toBeVisible()
  const servers = (await core.restData<{ servers: Array<{ name: string; quarantined: boolean }> }>('/api/v1/servers')).servers
  expect(servers.find((s) => s.name === 'added-by-ui')?.quarantined).toBe(true)
})

test('poisoning findings are highlighted on the review of the poisoned server', async ({ page, core }) => {
  await page.goto(`${core.uiUrl}#/review/poisoned`)
  await expect(page.getByRole('heading', { name: 'Review poisoned' })).toBeVisible()
  const findings = page.getByRole('list', { name: 'Findings for add' })
  await expect(findings).toBeVisible()
  await expect(findings.getByRole('listitem').first()).toBeVisible()
  await expect(page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'add', exact: true }) })).toContainText('id_rsa')
  await page.screenshot({ path: `${SCREENSHOTS}/quarantine-findings.png`, fullPage: true })
})

test('a changed tool shows an old/new diff; Approve pins the new definition', async ({ page, core, mcp }) => {
  await mcp.callTool({ name: 'rugpull__get_weather', arguments: { city: 'Oslo' } })
  type S = { name: string; changed_tools: string[] }
  await expect
    .poll(async () => (await core.restData<{ servers: S[] }>('/api/v1/servers')).servers.find((s) => s.name === 'rugpull')?.changed_tools ?? [])
    .toContain('get_weather')
  await page.goto(`${core.uiUrl}#/servers`)
  await page.getByRole('row', { name: /rugpull/ }).getByRole('link', { name: 'Review' }).click()
  const change = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'get_weather', exact: true }) }).filter({ has: page.getByLabel('Definition changes') })
  await expect(change.getByLabel('Definition changes').locator('.diff-add').filter({ hasText: 'context' }).first()).toBeVisible()
  await expect(change.getByLabel('Definition changes').locator('.diff-del').first()).toBeVisible()
  await page.screenshot({ path: `${SCREENSHOTS}/tool-change-diff.png`, fullPage: true })
  await change.getByRole('button', { name: 'Approve' }).click()
  await expect(change).toBeHidden()
  await expect
    .poll(async () => (await core.restData<{ servers: S[] }>('/api/v1/servers')).servers.find((s) => s.name === 'rugpull')?.changed_tools ?? ['?'])
    .toEqual([])

  // a new process offers the old definition again: a change from the one just approved. Block refuses it
  await core.restData('/api/v1/servers/rugpull/restart', { method: 'POST', body: '{}' })
  await expect(change).toBeVisible({ timeout: 15_000 })
  await change.getByRole('button', { name: 'Block' }).click()
  await expect(change).toContainText('blocked by you')
  await expect(change.getByRole('button', { name: 'Block' })).toBeHidden()
  type R = S & { rejected_tools: string[] }
  await expect
    .poll(async () => (await core.restData<{ servers: R[] }>('/api/v1/servers')).servers.find((s) => s.name === 'rugpull')?.rejected_tools ?? [])
    .toEqual(['get_weather'])
  const blocked = (await mcp.callTool({ name: 'rugpull__get_weather', arguments: { city: 'Oslo' } })) as { isError?: boolean }
  expect(blocked.isError).toBe(true)
  const records = await core.restData<{ activities: Array<{ tool_name?: string; metadata?: { action?: string } }> }>('/api/v1/activity?type=tool_change&tool=get_weather')
  expect(records.activities.map((r) => r.metadata?.action)).toContain('rejected')
})

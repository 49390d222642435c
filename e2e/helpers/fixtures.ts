import { test as base } from '@playwright/test'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { connectClient, startServe, type ServedCore } from './serve'

/** One real core per worker; one MCP client per test. */
export const test = base.extend<{ mcp: Client }, { core: ServedCore }>({
  core: [
    // Playwright reads a fixture's dependencies from its destructuring pattern: none here
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const core = await startServe()
      await use(core)
      await core.stop()
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  mcp: async ({ core }, use) => {
    const client = await connectClient(core)
    await use(client)
    await client.close()
  },
})

export { expect } from '@playwright/test'

export const SCREENSHOTS = 'e2e/screenshots'

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ActivityInput } from '../../shared/activity'
import type { ActivityRecorder } from '../activity/types'
import { CoreError } from '../errors'
import { EventBus } from '../events/bus'
import { silentLogger } from '../logger'
import { dataDirPaths, loadConfig, parseConfig, resolveDataDir } from './load'
import { createConfigService, maskConfig } from './service'
import { createConfigStore } from './store'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcpproxy-config-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const recorder = (): ActivityRecorder & { records: ActivityInput[] } => {
  const records: ActivityInput[] = []
  return {
    records,
    record: (r) => (records.push(r), 'id'),
    complete: () => {},
    flush: async () => {},
    stats: () => ({ queued: 0, written: 0, batches: 0, dropped: 0, dropped_by_type: {} }),
  }
}

describe('data dir', () => {
  it('takes the flag, else MCPPROXY_DATA_DIR, else ~/.mcpproxy', () => {
    expect(resolveDataDir('/a', { MCPPROXY_DATA_DIR: '/b' })).toBe('/a')
    expect(resolveDataDir(undefined, { MCPPROXY_DATA_DIR: '/b' })).toBe('/b')
    expect(resolveDataDir(undefined, {})).toMatch(/\.mcpproxy$/)
  })
})

describe('loadConfig', () => {
  it.skipIf(process.platform === 'win32')('closes a hand-made config file others could read, leaving the user\'s own dir as it is (POSIX modes)', () => {
    const own = join(dir, 'hand-made')
    mkdirSync(own, { mode: 0o755 })
    chmodSync(own, 0o755)
    const file = dataDirPaths(own).config
    writeFileSync(file, JSON.stringify({ api_key: 'written-by-hand-0123456789' }), { mode: 0o644 })
    chmodSync(file, 0o644)
    expect(loadConfig(own, {}).apiKey).toBe('written-by-hand-0123456789')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(own).mode & 0o777).toBe(0o755)
  })

  it('writes a default config with a random key, mode 0600, on first run', () => {
    const first = loadConfig(dir, {})
    expect(first.created).toBe(true)
    expect(first.apiKey.length).toBeGreaterThanOrEqual(24)
    const file = dataDirPaths(dir).config
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const onDisk = JSON.parse(readFileSync(file, 'utf8'))
    expect(onDisk.api_key).toBe(first.apiKey)
    expect(onDisk.activity_max_response_size).toBe(65536)
    expect(first.config).toMatchObject({
      listen: '127.0.0.1:8080',
      activity_retention_days: 90,
      activity_max_records: 100000,
      activity_cleanup_interval_min: 60,
      activity_max_db_mb: 512,
    })
    const second = loadConfig(dir, {})
    expect(second.created).toBe(false)
    expect(second.apiKey).toBe(first.apiKey)
    expect(loadConfig(dir, { MCPPROXY_API_KEY: 'from-the-environment-123' }).apiKey).toBe('from-the-environment-123')
    expect(loadConfig(join(dir, 'other'), {}).apiKey).not.toBe(first.apiKey)
  })

  it('names the key and the problem of a bad config and never overwrites the file', () => {
    const file = dataDirPaths(dir).config
    const text = JSON.stringify({ activity_retention_days: 'ninety', mcpServers: { gh: { args: [] } } })
    writeFileSync(file, text)
    let error: unknown
    try {
      loadConfig(dir, {})
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(CoreError)
    expect((error as CoreError).code).toBe('CONFIG_INVALID')
    expect((error as CoreError).message).toContain('activity_retention_days')
    expect((error as CoreError).message).toContain('mcpServers.gh')
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('reports broken JSON with the file name', () => {
    writeFileSync(dataDirPaths(dir).config, '{"listen": ')
    expect(() => loadConfig(dir, {})).toThrow(/mcp_config\.json: not valid JSON/)
    expect(() => parseConfig('[1,2]')).toThrow(/top level must be a JSON object/)
    expect(() => parseConfig('{"listen":"8080"}')).toThrow(/listen: must be host:port/)
  })

  it('does not quote the broken text in the error: it may hold a secret', () => {
    const broken = '{"api_key": sk-live-verysecretvalue-12345, "listen": "127.0.0.1:8080"}'
    expect(() => JSON.parse(broken)).toThrow(/sk-live/) // what V8 itself would say
    let message = ''
    try {
      parseConfig(broken)
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/^mcp_config\.json: not valid JSON \(Unexpected token 's'\)$/)
  })

  it('adds a key to a config without one, keeping the rest as written', () => {
    const file = dataDirPaths(dir).config
    writeFileSync(file, JSON.stringify({ listen: '127.0.0.1:9999', custom_note: 'mine' }))
    const loaded = loadConfig(dir, {})
    const onDisk = JSON.parse(readFileSync(file, 'utf8'))
    expect(onDisk).toEqual({ listen: '127.0.0.1:9999', custom_note: 'mine', api_key: loaded.apiKey })
  })
})

describe('config store', () => {
  it('keeps unknown keys through an update and notifies listeners and the bus', async () => {
    const file = dataDirPaths(dir).config
    writeFileSync(file, JSON.stringify({ api_key: 'k'.repeat(20), custom: { a: 1 } }))
    const bus = new EventBus()
    const reloaded = vi.fn()
    bus.on('config.reloaded', reloaded)
    const store = createConfigStore(file, loadConfig(dir, {}), bus, silentLogger)
    const changed = vi.fn()
    store.onChange(changed)
    await store.update((raw) => {
      raw.redact_pii = true
    })
    expect(store.current().redact_pii).toBe(true)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ custom: { a: 1 }, redact_pii: true })
    expect(changed).toHaveBeenCalledTimes(1)
    expect(reloaded).toHaveBeenCalledWith(expect.objectContaining({ ok: true }), 'config.reloaded')
  })

  it('rejects an invalid update and keeps the file and the running config', async () => {
    const file = dataDirPaths(dir).config
    const store = createConfigStore(file, loadConfig(dir, {}), new EventBus(), silentLogger)
    const before = readFileSync(file, 'utf8')
    await expect(store.update((raw) => void (raw.call_timeout_ms = -5))).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(store.current().call_timeout_ms).toBe(120000)
  })

  // the atomic write's temp file is made /dev/full, whose every write fails with ENOSPC (Linux)
  it.runIf(existsSync('/dev/full'))('on a full disk: DISK_FULL, no temp file left behind, the file and the running config stay', async () => {
    const file = dataDirPaths(dir).config
    const store = createConfigStore(file, loadConfig(dir, {}), new EventBus(), silentLogger)
    const before = readFileSync(file, 'utf8')
    const tmp = `${file}.${process.pid}.tmp`
    symlinkSync('/dev/full', tmp)
    const err = await store.update((raw) => void (raw.call_timeout_ms = 5000)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CoreError)
    expect(err).toMatchObject({ code: 'DISK_FULL', status: 507 })
    expect((err as Error).message).toBe(`the disk is full (ENOSPC): ${file} was left as it was and no setting changed; free some disk space and try again`)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(store.current().call_timeout_ms).toBe(120000)
    // with space again, the same edit goes through
    await store.update((raw) => void (raw.call_timeout_ms = 5000))
    expect(store.current().call_timeout_ms).toBe(5000)
  })

  it('serializes concurrent updates so none is lost', async () => {
    const file = dataDirPaths(dir).config
    const store = createConfigStore(file, loadConfig(dir, {}), new EventBus(), silentLogger)
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.update((raw) => {
          raw.sensitive_tools = [...((raw.sensitive_tools as string[]) ?? []), `t${i}`]
        }),
      ),
    )
    expect(store.current().sensitive_tools).toHaveLength(10)
  })

  it('applies a valid edit of the file live and reports an invalid one, keeping the running config', async () => {
    const file = dataDirPaths(dir).config
    const bus = new EventBus()
    const events: Array<{ ok: boolean; error?: string }> = []
    bus.on('config.reloaded', (e) => events.push(e))
    const store = createConfigStore(file, loadConfig(dir, {}), bus, silentLogger)
    store.watch()
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8'))
      writeFileSync(file, JSON.stringify({ ...raw, approval_timeout_s: 33 }))
      await vi.waitFor(() => expect(store.current().approval_timeout_s).toBe(33), { timeout: 5000 })
      writeFileSync(file, JSON.stringify({ ...raw, approval_timeout_s: 'soon' }))
      await vi.waitFor(() => expect(events.some((e) => !e.ok)).toBe(true), { timeout: 5000 })
      expect(events.find((e) => !e.ok)!.error).toContain('approval_timeout_s')
      expect(store.current().approval_timeout_s).toBe(33)
    } finally {
      store.close()
    }
  })
})

describe('config service', () => {
  const config = () =>
    parseConfig(
      JSON.stringify({
        api_key: 'super-secret-api-key-value',
        mcpServers: {
          gh: { command: 'npx', args: ['gh'], env: { GITHUB_TOKEN: 'ghp_real' } },
          remote: { url: 'https://example.org/mcp', headers: { Authorization: 'Bearer abc' } },
        },
        otel: { enabled: false, headers: { 'x-honeycomb-team': 'hc-key' } },
      }),
    )

  it('masks the api key, env values and headers', () => {
    const masked = JSON.stringify(maskConfig(config()))
    for (const secret of ['super-secret-api-key-value', 'ghp_real', 'Bearer abc', 'hc-key']) expect(masked).not.toContain(secret)
    expect(masked).toContain('GITHUB_TOKEN')
    expect(masked).toContain('https://example.org/mcp')
  })

  it('validates without throwing and names each problem', () => {
    const file = dataDirPaths(dir).config
    const svc = createConfigService(createConfigStore(file, loadConfig(dir, {}), new EventBus(), silentLogger), recorder())
    expect(svc.validate({ listen: '127.0.0.1:1' })).toEqual({ valid: true, errors: [] })
    expect(svc.validate('nope')).toEqual({ valid: false, errors: [{ key: '(root)', message: 'the config must be a JSON object' }] })
    const bad = svc.validate({ tool_exposure: 'all', policy: { rules: [{ action: 'maybe' }] } })
    expect(bad.valid).toBe(false)
    expect(bad.errors.map((e) => e.key).sort()).toEqual(['policy.rules.0.action', 'tool_exposure'])
  })

  it('applies a masked config sent back without writing the mask over the secrets', async () => {
    const file = dataDirPaths(dir).config
    writeFileSync(file, JSON.stringify({ api_key: 'super-secret-api-key-value', mcpServers: { gh: { command: 'npx', env: { GITHUB_TOKEN: 'ghp_real' } } } }))
    const rec = recorder()
    const svc = createConfigService(createConfigStore(file, loadConfig(dir, {}), new EventBus(), silentLogger), rec)
    const edited = { ...svc.masked(), redact_pii: true }
    await svc.apply(edited, 'test')
    const onDisk = JSON.parse(readFileSync(file, 'utf8'))
    expect(onDisk.api_key).toBe('super-secret-api-key-value')
    expect(onDisk.mcpServers.gh.env.GITHUB_TOKEN).toBe('ghp_real')
    expect(onDisk.redact_pii).toBe(true)
    expect(rec.records).toEqual([expect.objectContaining({ type: 'config_change', metadata: { action: 'config_applied', actor: 'test' } })])
    await expect(svc.apply({ listen: 'nowhere' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
  })

  it('refuses a masked secret whose server now points elsewhere, and writes nothing', async () => {
    const file = dataDirPaths(dir).config
    const servers = { gh: { command: 'npx', args: ['gh'], env: { GITHUB_TOKEN: 'ghp_real' } }, remote: { url: 'https://example.org/mcp', headers: { Authorization: 'Bearer abc' } } }
    writeFileSync(file, JSON.stringify({ api_key: 'super-secret-api-key-value', mcpServers: servers }))
    const svc = createConfigService(createConfigStore(file, loadConfig(dir, {}), new EventBus(), silentLogger), recorder())
    const masked = svc.masked() as unknown as { mcpServers: Record<string, Record<string, unknown>> }
    const before = readFileSync(file, 'utf8')
    const moved = (server: string, change: Record<string, unknown>) => ({ ...masked, mcpServers: { ...masked.mcpServers, [server]: { ...masked.mcpServers[server], ...change } } })
    await expect(svc.apply(moved('remote', { url: 'http://127.0.0.1:47001/mcp' }))).rejects.toThrow(
      "mcpServers.remote.headers.Authorization is masked, but the server's url changed: give the value again",
    )
    await expect(svc.apply(moved('gh', { args: ['evil'] }))).rejects.toThrow("mcpServers.gh.env.GITHUB_TOKEN is masked, but the server's args changed")
    // a new env value changes what runs as much as the command does
    await expect(svc.apply(moved('gh', { env: { GITHUB_TOKEN: '********', NODE_OPTIONS: '--require /tmp/x.js' } }))).rejects.toThrow(
      "mcpServers.gh.env.GITHUB_TOKEN is masked, but the server's env NODE_OPTIONS changed",
    )
    expect(readFileSync(file, 'utf8')).toBe(before)
    // given again, the value goes with the new URL
    await svc.apply(moved('remote', { url: 'https://example.org/v2/mcp', headers: { Authorization: 'Bearer new' } }))
    expect(JSON.parse(readFileSync(file, 'utf8')).mcpServers.remote).toMatchObject({ url: 'https://example.org/v2/mcp', headers: { Authorization: 'Bearer new' } })
  })
})

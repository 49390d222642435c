/**
 * Writes records full of known secrets through the real store, then reads the raw bytes of the
 * database, its WAL and shared-memory files: none of the secrets may be there, in any table
 * or index (the full-text index included), before or after the WAL is checkpointed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ulid } from 'ulid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createActivityStore } from '../src/core/activity/store'
import { bundleFixture } from './fixtures/bundle-fixture'

const SECRETS = {
  github: 'ghp_' + 'Zq8Lm2Rt5Vx9Kp3Nw7Hd4Jf6Bc1Gs0Ty2Ua8',
  anthropic: 'sk-ant-api03-' + 'Xy7Qw3Er9Ty2Ui8Op4As6Df1Gh5Jk0Lz'.repeat(2) + '-AbCdEfAA',
  aws: 'AKIAZ7Q3RT5KX2MB9WPL',
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJodW50ZXIiLCJuYW1lIjoiVG9rZW4gVGVzdCJ9.q9vDnHk3sXw8Yb2Lr5Tm7Pz1Jc4Fg6Ha0Ke9Nd3Qs2',
  pemBody: 'MIIEowIBAAKCAQEAq7BFUfYx9JZ3Kt2mWq8VnL5pXr4Hd6Jc1Gs0Ty2Ua8Zq8Lm2Rt5Vx9Kp3Nw7',
  dbPassword: 'hunter2pass',
}
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${SECRETS.pemBody}\nT3Nw7Hd4Jf6Bc1Gs0Ty2Ua8Zq8Lm2Rt5Vx9Kp3Nw7Hd4Jf6Bc1Gs0\n-----END RSA PRIVATE KEY-----`
const DB_URL = `postgres://u:${SECRETS.dbPassword}@h/db`
const EMAIL = 'jane.roe.unique@example.org'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'redaction-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** The raw bytes of the database and its side files that exist now. */
function rawBytes(file: string): Buffer {
  return Buffer.concat([file, file + '-wal', file + '-shm'].filter(existsSync).map((f) => readFileSync(f)))
}

function leaks(bytes: Buffer, needles: string[]): string[] {
  return needles.filter((s) => bytes.includes(Buffer.from(s, 'utf8')))
}

describe('redaction before anything reaches disk', () => {
  it('leaves no byte of a known secret in the database, WAL or shm files', async () => {
    const file = join(dir, 'activity.db')
    const store = createActivityStore({ file, retention: false, settings: { maxResponseSize: 300 } })
    store.record({
      type: 'tool_call',
      status: 'error',
      server_name: 'github',
      tool_name: 'create_issue',
      arguments: { token: SECRETS.github, nested: { env: [`ANTHROPIC_API_KEY=${SECRETS.anthropic}`], url: DB_URL } },
      response: { content: [{ type: 'text', text: `found ${SECRETS.aws} and ${PEM}` }] },
      error: `401 for Authorization: Bearer ${SECRETS.jwt}`,
      intent: { operation_type: 'write', reason: `uses ${SECRETS.github}` },
    })
    // a secret that straddles the truncation point is masked before the response is cut
    store.record({ type: 'tool_call', status: 'success', tool_name: 'read', response: 'x'.repeat(280) + SECRETS.anthropic })
    // and the completion of a pending call is redacted too (it is written by update)
    const pending = store.record({ type: 'tool_call', status: 'pending', tool_name: 'query', arguments: { q: 'select 1' } })
    await store.flush()
    store.complete(pending, { status: 'success', response: { rows: [{ dsn: DB_URL, key: SECRETS.aws, jwt: SECRETS.jwt }] } })
    await store.flush()

    const first = store.list({}, { limit: 10, offset: 0 }).activities
    expect(first).toHaveLength(3)
    const details = first.map((r) => store.get(r.id)!)
    expect(details.find((r) => r.tool_name === 'create_issue')!.detection_types).toEqual(
      expect.arrayContaining(['github_token', 'anthropic_key', 'aws_access_key', 'jwt', 'private_key', 'url_password']),
    )
    expect(details.find((r) => r.tool_name === 'read')).toMatchObject({ response_truncated: true })
    expect(details.find((r) => r.tool_name === 'query')!.detection_types).toEqual(expect.arrayContaining(['url_password', 'aws_access_key', 'jwt']))

    const needles = Object.values(SECRETS)
    expect(leaks(rawBytes(file), needles)).toEqual([])
    await store.close()
    expect(leaks(rawBytes(file), needles)).toEqual([])
  })

  it.each([
    ['on the inserting thread', false],
    ['on the import worker', true],
  ])('masks the secrets of imported lines too (parsing %s), and cuts their responses to the limit', async (_label, useWorker) => {
    const file = join(dir, 'imported.db')
    const workerUrl = useWorker ? pathToFileURL(await bundleFixture('src/core/activity/import-worker.ts', 'import-worker-redaction')) : undefined
    const store = createActivityStore({ file, retention: false, settings: { maxResponseSize: 300 }, importWorkerUrl: workerUrl })
    try {
      const at = Date.now() - 60_000
      const lines = [
        { id: ulid(at), type: 'tool_call', timestamp: new Date(at).toISOString(), status: 'success', tool_name: 'leaky', arguments: { token: SECRETS.github, url: DB_URL }, error: `Bearer ${SECRETS.jwt}` },
        { id: ulid(at + 1), type: 'tool_call', timestamp: new Date(at + 1).toISOString(), status: 'success', tool_name: 'long', response: 'y'.repeat(280) + SECRETS.anthropic },
      ].map((l) => JSON.stringify(l))
      expect(await store.import(lines)).toMatchObject({ imported: 2, errors: [] })
      const [long, leaky] = store.list({}, { limit: 10, offset: 0 }).activities.map((r) => store.get(r.id)!)
      expect(leaky!.detection_types).toEqual(expect.arrayContaining(['github_token', 'url_password', 'jwt']))
      expect(long).toMatchObject({ tool_name: 'long', response_truncated: true })
      expect(Buffer.byteLength(long!.response as string)).toBeLessThanOrEqual(300)
      expect(await store.verify()).toMatchObject({ ok: true })
      await store.flush()
      expect(leaks(rawBytes(file), Object.values(SECRETS))).toEqual([])
    } finally {
      await store.close()
      if (workerUrl) rmSync(workerUrl, { force: true })
    }
    expect(leaks(rawBytes(file), Object.values(SECRETS))).toEqual([])
  })

  it('lists PII always and masks it on disk when redact_pii is on', async () => {
    const listed = join(dir, 'listed.db')
    const a = createActivityStore({ file: listed, retention: false })
    const id = a.record({ type: 'tool_call', status: 'success', arguments: { to: EMAIL } })
    await a.flush()
    expect(a.get(id)!.pii_detected).toContain('email')
    await a.close()
    expect(leaks(rawBytes(listed), [EMAIL])).toEqual([EMAIL])

    const masked = join(dir, 'masked.db')
    const b = createActivityStore({ file: masked, retention: false, settings: { redactPii: true } })
    const id2 = b.record({ type: 'tool_call', status: 'success', arguments: { to: EMAIL } })
    await b.flush()
    expect(b.get(id2)!.pii_detected).toContain('email')
    await b.close()
    expect(leaks(rawBytes(masked), [EMAIL])).toEqual([])
  })
})

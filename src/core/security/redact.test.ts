import { describe, expect, it } from 'vitest'
import type { ActivityRecord } from '../../shared/activity'
import { isCardNumber, isIban, isSsn, redactRecordFields, redactText, redactValue } from './redact'

const off = { redactPii: false }
const on = { redactPii: true }

// Built at run time so no scanner mistakes this file for a leak.
const GH = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'
const PEM = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF', 'n0bTmcYb2Yq3w==', '-----END RSA PRIVATE KEY-----'].join('\n')

const SECRETS: Array<[string, string, string]> = [
  ['github_token', `token ${GH} end`, GH],
  ['github_token', 'github_pat_' + '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', 'github_pat_11ABCDEFG'],
  ['gitlab_token', 'glpat-' + 'xY7zQ9wE3rT5yU1iO0pA', 'xY7zQ9wE3rT5yU1iO0pA'],
  ['slack_token', 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'AbCdEfGhIjKlMnOpQrStUvWx'],
  ['slack_webhook', 'post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now', 'T00000000/B00000000'],
  ['stripe_key', 'sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc', '4eC39HqLyjWDarjtT1zdp7dc'],
  ['stripe_key', 'rk_live_' + '51H8xYZabcdefghijklmnop', '51H8xYZabcdefghijklmnop'],
  ['openai_key', 'OPENAI sk-proj-' + 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ', 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ'],
  ['openai_key', 'sk-' + 'T3BlbkFJabcdefghijklmnopqrstuv', 'T3BlbkFJabcdefghijklmnopqrstuv'],
  ['anthropic_key', 'x-api-key: sk-ant-api03-' + 'abcdefghijklmnopqrstuvwxyz012345-_AA', 'abcdefghijklmnopqrstuvwxyz012345'],
  ['aws_access_key', 'id AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
  ['aws_access_key', 'ASIAY34FZKBOKMUTVV7A', 'ASIAY34FZKBOKMUTVV7A'],
  ['aws_secret_key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG'],
  ['aws_secret_key', 'AWS credentials for prod: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY (rotate monthly)', 'wJalrXUtnFEMI/K7MDENG'],
  ['aws_secret_key', '{"aws": {"secret": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}}', 'je7MtGbClwBF/2Zp9Utk'],
  ['gcp_api_key', 'key=AIza' + 'SyA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1v', 'SyA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1v'],
  [
    'jwt',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    'dozjgNryP4J3jVmNHl0w5N',
  ],
  ['bearer_token', 'Authorization: Bearer 0123456789abcdefABCDEF', '0123456789abcdefABCDEF'],
  ['private_key', `key:\n${PEM}\nrest`, 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn'],
  ['url_password', 'postgres://admin:Sup3rS3cret!@db.internal:5432/app', 'Sup3rS3cret!'],
  ['url_password', 'redis://:p@ss@cache:6379', 'p@ss'],
  ['generic_secret', 'DB_PASSWORD=correcthorse42', 'correcthorse42'],
  ['generic_secret', '{"client_secret": "q8w7e6r5t4y3"}', 'q8w7e6r5t4y3'],
  ['generic_secret', 'api_key: abcd1234efgh', 'abcd1234efgh'],
  ['generic_secret', 'DJANGO_SECRET_KEY=zzSECRETzz111', 'zzSECRETzz111'],
  ['generic_secret', 'DB_PASS=hunter2hunter2', 'hunter2hunter2'],
  ['generic_secret', 'DB_PWD: s3cr3tpassw0rd', 's3cr3tpassw0rd'],
  ['generic_secret', '{"SECRET_KEY": "x"}', '"x"'],
]

describe('redactText secrets', () => {
  it.each(SECRETS)('masks %s and keeps none of its bytes', (type, input, secret) => {
    const r = redactText(input, off)
    expect(r.text).not.toContain(secret)
    expect(r.text).toContain(`[REDACTED:${type}]`)
    expect(r.detection_types).toEqual([type])
    expect(r.pii_detected).toEqual([])
  })

  it('masks a bare AWS secret key beside its access key id, and leaves 40-character look-alikes alone', () => {
    const pair = redactText('AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', off)
    expect(pair.text).toBe('[REDACTED:aws_access_key] [REDACTED:aws_secret_key]')
    // a commit hash (hex, one case) in an AWS text, a longer base64 run, and a mixed 40 with no AWS context
    const sha = 'deploy to aws at commit 9fceb02d0ae598e95dc970b74767f19372d61af8'
    expect(redactText(sha, off).text).toBe(sha)
    const blob = `aws blob ${'Ab1/'.repeat(15)}`
    expect(redactText(blob, off).text).toBe(blob)
    const other = 'build id wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    expect(redactText(other, off).text).toBe(other)
  })

  it('masks the value after a secret-named flag in an argument list, and leaves other flags\' values alone', () => {
    const r = redactValue({ args: ['serve', '--password', 'hunter2', '--port', '8080', '-token', GH, '--verbose'] }, off)
    expect(r.value).toEqual({ args: ['serve', '--password', '[REDACTED:generic_secret]', '--port', '8080', '-token', '[REDACTED:github_token]', '--verbose'] })
    expect(r.detection_types.sort()).toEqual(['generic_secret', 'github_token'])
  })

  it('leaves a progress token alone (it pairs progress notifications with their request)', () => {
    const r = redactValue({ _meta: { progressToken: 'p-0123456789abcdef' }, progress: 3 }, off)
    expect(r.value).toEqual({ _meta: { progressToken: 'p-0123456789abcdef' }, progress: 3 })
  })

  it('leaves words that only contain a keyword alone', () => {
    for (const text of ['bypass=the-cache-please', 'compass: north-north-west', 'primary_key=user_id_column', 'sort_key: created_at_desc', 'PWD=/home/me/project']) {
      expect(redactText(text, off).text).toBe(text)
    }
    // the working directory in an environment is no secret either
    expect(redactValue({ env: { PWD: '/home/me/project', DB_PWD: 'hunter2' } }, off).value).toEqual({ env: { PWD: '/home/me/project', DB_PWD: '[REDACTED:generic_secret]' } })
  })

  it('keeps the non-secret parts around the mask', () => {
    expect(redactText('postgres://admin:hunter2@db:5432/x', off).text).toBe('postgres://admin:[REDACTED:url_password]@db:5432/x')
    expect(redactText('Authorization: Bearer abcdefghijkl', off).text).toBe('Authorization: Bearer [REDACTED:bearer_token]')
    expect(redactText('password=hunter2hunter2 next', off).text).toBe('password=[REDACTED:generic_secret] next')
  })

  it('masks a quoted JSON value under a secret-looking key whatever its length', () => {
    const r = redactText('{"db_password":"abc","token":"x\\"y","token_type":"bearer","passwordHint":"see docs","secret": ""}', off)
    expect(r.text).toBe('{"db_password":"[REDACTED:generic_secret]","token":"[REDACTED:generic_secret]","token_type":"bearer","passwordHint":"see docs","secret": ""}')
  })

  it('names the specific kind when a known token is the value of an assignment or a bearer', () => {
    const r = redactText(`GITHUB_TOKEN=${GH} and Authorization: Bearer ${GH.replace('a1', 'z9')}`, off)
    expect(r.detection_types).toEqual(['github_token'])
    expect(r.text).toBe('GITHUB_TOKEN=[REDACTED:github_token] and Authorization: Bearer [REDACTED:github_token]')
  })

  it('types a JWT after Bearer as a jwt', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl'
    const r = redactText(`Bearer ${jwt}`, off)
    expect(r.text).toBe('Bearer [REDACTED:jwt]')
    expect(r.detection_types).toEqual(['jwt'])
  })

  it('masks a PEM block cut off before its END line', () => {
    const cut = PEM.slice(0, PEM.indexOf('-----END'))
    expect(redactText(`key: ${cut}`, off).text).toBe('key: [REDACTED:private_key]')
    expect(redactText(JSON.stringify({ k: cut }), off).text).toBe('{"k":"[REDACTED:private_key]"}')
  })

  it('masks the private key of a service-account JSON text as gcp_service_account_key', () => {
    const sa = JSON.stringify({ type: 'service_account', private_key_id: 'abc', private_key: PEM + '\n', client_email: 'x@p.iam.gserviceaccount.com' })
    const r = redactText(sa, off)
    expect(r.text).not.toContain('MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn')
    expect(r.detection_types).toContain('gcp_service_account_key')
    expect(JSON.parse(r.text).private_key).toBe('[REDACTED:gcp_service_account_key]')
  })

  it('finds several kinds in one text and lists each once', () => {
    const r = redactText(`a ${GH} b ${GH} c AKIAIOSFODNN7EXAMPLE`, off)
    expect(r.detection_types.sort()).toEqual(['aws_access_key', 'github_token'])
    expect(r.text).toBe('a [REDACTED:github_token] b [REDACTED:github_token] c [REDACTED:aws_access_key]')
  })

  it.each([
    'max_tokens=100000000',
    'next_page_token: abcdefghijklmnop',
    'password: ${DB_PASSWORD}',
    'commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
    'uuid 123e4567-e89b-12d3-a456-426614174000',
    'https://example.com/path?q=1',
    'sk-short',
    'the task key is simple',
    'ghp_tooShort',
  ])('leaves ordinary text alone: %s', (input) => {
    const r = redactText(input, off)
    expect(r.text).toBe(input)
    expect(r.detection_types).toEqual([])
  })

  it('returns short strings untouched', () => {
    expect(redactText('abc', on)).toEqual({ text: 'abc', detection_types: [], pii_detected: [] })
  })
})

describe('redactText PII', () => {
  const PII: Array<[string, string, string]> = [
    ['email', 'mail jane.doe+tag@example.co.uk today', 'jane.doe+tag@example.co.uk'],
    ['phone', 'call +44 20 7946 0958', '+44 20 7946 0958'],
    ['phone', 'call (415) 555-2671 now', '(415) 555-2671'],
    ['phone', 'call 415-555-2671', '415-555-2671'],
    ['ssn', 'ssn 123-45-6789', '123-45-6789'],
    ['iban', 'iban GB82 WEST 1234 5698 7654 32.', 'GB82 WEST 1234 5698 7654 32'],
    ['iban', 'DE89370400440532013000', 'DE89370400440532013000'],
    ['credit_card', 'card 4111 1111 1111 1111', '4111 1111 1111 1111'],
    ['credit_card', 'amex 3782-822463-10005', '3782-822463-10005'],
    ['credit_card', '5555555555554444', '5555555555554444'],
  ]

  it.each(PII)('detects %s, leaves it when redact_pii is off', (type, input) => {
    const r = redactText(input, off)
    expect(r.text).toBe(input)
    expect(r.pii_detected).toEqual([type])
    expect(r.detection_types).toEqual([])
  })

  it.each(PII)('masks %s when redact_pii is on', (type, input, value) => {
    const r = redactText(input, on)
    expect(r.text).not.toContain(value)
    expect(r.text).toContain(`[REDACTED:${type}]`)
    expect(r.pii_detected).toEqual([type])
  })

  it.each([
    'ts 1732190000000',
    'id 20261121 and 4111111111111112',
    'ssn-like 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000',
    'iban with a bad checksum GB82WEST12345698765433',
    'version 1.2.3 port 8080 pid 12345',
    'date 2026-11-21T11:50:10.123Z',
    'bytes 65536 count 100000',
  ])('does not flag plain numbers: %s', (input) => {
    expect(redactText(input, on)).toEqual({ text: input, detection_types: [], pii_detected: [] })
  })

  it('finds emails at the edges and next to each other, not handles or hosts', () => {
    expect(redactText('a@b.co,x.y+z@sub.example.org;@mention', on)).toEqual({
      text: '[REDACTED:email],[REDACTED:email];@mention',
      detection_types: [],
      pii_detected: ['email'],
    })
    for (const plain of ['user@localhost now', 'foo@@bar.com', `${'a'.repeat(65)}@example.com`, 'npm i @scope/pkg@1.2.3']) {
      expect(redactText(plain, on).pii_detected).toEqual([])
    }
  })

  it('validates with the real checks', () => {
    expect(isCardNumber('4111111111111111')).toBe(true)
    expect(isCardNumber('4111111111111112')).toBe(false)
    expect(isCardNumber('4111-1111 1111-1111')).toBe(false)
    expect(isCardNumber('1732190000005')).toBe(false)
    expect(isIban('GB82WEST12345698765432')).toBe(true)
    expect(isIban('GB82WEST12345698765431')).toBe(false)
    expect(isSsn('078-05-1120')).toBe(true)
    expect(isSsn('666-05-1120')).toBe(false)
    expect(isSsn('912-05-1120')).toBe(false)
  })
})

describe('redactValue', () => {
  it('masks strings anywhere in a JSON value and values of secret-named keys whole', () => {
    const input = {
      query: `use ${GH}`,
      headers: { Authorization: 'Basic dXNlcjpwYXNz', 'X-Api-Key': 'short', cookie: 'sid=1' },
      password: 'correct horse battery staple',
      nested: [{ token: 'abc' }, { note: 'mail a@b.io' }, 42, null, true],
      next_page_token: 'CAEQAA',
      max_tokens: 1000,
      empty_secret: '',
    }
    const r = redactValue(input, off)
    expect(r.value).toEqual({
      query: 'use [REDACTED:github_token]',
      headers: { Authorization: '[REDACTED:generic_secret]', 'X-Api-Key': '[REDACTED:generic_secret]', cookie: '[REDACTED:generic_secret]' },
      password: '[REDACTED:generic_secret]',
      nested: [{ token: '[REDACTED:generic_secret]' }, { note: 'mail a@b.io' }, 42, null, true],
      next_page_token: 'CAEQAA',
      max_tokens: 1000,
      empty_secret: '',
    })
    expect(r.detection_types.sort()).toEqual(['generic_secret', 'github_token'])
    expect(r.pii_detected).toEqual(['email'])
    expect(input.password).toBe('correct horse battery staple')
  })

  it('types secret keys by their value and by the service-account shape', () => {
    const r = redactValue({ type: 'service_account', private_key: PEM, gh: { api_key: GH }, aws_secret_access_key: 'x'.repeat(40) }, off)
    expect(r.value).toEqual({
      type: 'service_account',
      private_key: '[REDACTED:gcp_service_account_key]',
      gh: { api_key: '[REDACTED:github_token]' },
      aws_secret_access_key: '[REDACTED:aws_secret_key]',
    })
  })

  it('gives the same result for many strings at once as for each alone', () => {
    const strings = [
      `token ${GH}`,
      'password:',
      'hunter2hunter2',
      'Bearer',
      'abcdefghijkl',
      'mail me: jane@example.com',
      'call 415-555-2671',
      '-----BEGIN PRIVATE KEY-----',
      'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
      '-----END PRIVATE KEY-----',
      'plain text',
      'has a \n\u0000\n separator inside',
    ]
    const together = redactValue(strings, on)
    const alone = strings.map((s) => redactText(s, on))
    expect(together.value).toEqual(alone.map((r) => r.text))
    expect(new Set(together.detection_types)).toEqual(new Set(alone.flatMap((r) => r.detection_types)))
    expect(new Set(together.pii_detected)).toEqual(new Set(alone.flatMap((r) => r.pii_detected)))
    expect(JSON.stringify(together.value)).toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')
  })

  it('treats a JSON number that is a card number as PII', () => {
    expect(redactValue({ card: 4111111111111111, ts: 1732190000000 }, on)).toEqual({
      value: { card: '[REDACTED:credit_card]', ts: 1732190000000 },
      detection_types: [],
      pii_detected: ['credit_card'],
    })
    expect(redactValue({ card: 4111111111111111 }, off).value).toEqual({ card: 4111111111111111 })
  })

  it('passes scalars through and replaces a cycle instead of looping', () => {
    expect(redactValue(7, off)).toEqual({ value: 7, detection_types: [], pii_detected: [] })
    expect(redactValue(undefined, off).value).toBeUndefined()
    const a: Record<string, unknown> = { x: 1 }
    a.self = a
    expect(redactValue(a, off).value).toEqual({ x: 1, self: '[Circular]' })
  })

  it('keeps a value seen twice (not a cycle) in both places', () => {
    const shared = { note: 'ok' }
    expect(redactValue({ a: shared, b: shared }, off).value).toEqual({ a: { note: 'ok' }, b: { note: 'ok' } })
  })
})

describe('redactRecordFields', () => {
  const base: ActivityRecord = {
    id: '01JDQ0000000000000000000AA',
    type: 'tool_call',
    timestamp: '2026-11-21T11:50:10.123Z',
    status: 'error',
    server_name: 'github',
    tool_name: 'create_issue',
    arguments: { body: `token ${GH}`, owner: 'me' },
    response: { content: [{ type: 'text', text: 'contact jane@example.com' }] },
    error: 'auth failed for postgres://u:pw123456@db/x',
    intent: { operation_type: 'write', reason: 'uses password=hunter2hunter2' },
    entities: ['https://u:secretpw@host/path', 'owner=me'],
    metadata: { action: 'added', env: { GITHUB_TOKEN: 'abc', HOME: '/home/me' } },
    detection_types: ['jwt', 'github_token'],
    pii_detected: ['phone'],
  }

  it('masks arguments, response, error, intent reason, entities and metadata and merges what was found', () => {
    const r = redactRecordFields(base, on)
    const text = JSON.stringify(r)
    for (const secret of [GH, 'pw123456', 'hunter2hunter2', 'secretpw', 'jane@example.com']) expect(text).not.toContain(secret)
    expect(r.detection_types).toEqual(['jwt', 'github_token', 'url_password', 'generic_secret'])
    expect(r.pii_detected).toEqual(['phone', 'email'])
    expect(r.arguments).toEqual({ body: 'token [REDACTED:github_token]', owner: 'me' })
    expect(r.intent).toEqual({ operation_type: 'write', reason: 'uses password=[REDACTED:generic_secret]' })
    expect(r.entities).toEqual(['https://u:[REDACTED:url_password]@host/path', 'owner=me'])
    expect(r.metadata).toEqual({ action: 'added', env: { GITHUB_TOKEN: '[REDACTED:generic_secret]', HOME: '/home/me' } })
  })

  it('masks a secret in the tool and server names and in what the client says of itself, keeping plain names as they are', () => {
    const r = redactRecordFields({ ...base, tool_name: GH, server_name: `srv-${GH}`, client: { name: `agent ${GH}`, version: '1.0', pid: 7 } }, on)
    expect(JSON.stringify([r.tool_name, r.server_name, r.client])).not.toContain(GH)
    expect(r.tool_name).toBe('[REDACTED:github_token]')
    expect(r.client).toEqual({ name: 'agent [REDACTED:github_token]', version: '1.0', pid: 7 })
    const plain = redactRecordFields(base, on)
    expect([plain.tool_name, plain.server_name, plain.client]).toEqual(['create_issue', 'github', undefined])
  })

  it('does not touch the input record', () => {
    const before = JSON.stringify(base)
    redactRecordFields(base, on)
    expect(JSON.stringify(base)).toBe(before)
  })

  it('detects PII but keeps it when redact_pii is off', () => {
    const r = redactRecordFields(base, off)
    expect(JSON.stringify(r.response)).toContain('jane@example.com')
    expect(r.pii_detected).toEqual(['phone', 'email'])
  })

  it('adds no empty lists to a clean record', () => {
    const clean: ActivityRecord = { id: 'x', type: 'tool_call', timestamp: base.timestamp, status: 'success', arguments: { a: 1 } }
    const r = redactRecordFields(clean, on)
    expect(r).toEqual(clean)
    expect('detection_types' in r).toBe(false)
  })
})

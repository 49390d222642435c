/**
 * Secret and PII redaction for everything the activity log stores. It runs in the activity writer
 * on every recorded call, so one keyword scan picks the few secret rules that can match, and the
 * PII kinds share one regex whose alternatives start only at the start of a run.
 *
 * Every masked value becomes `[REDACTED:<type>]`, the type being the detection_types /
 * pii_detected name; a connection URL keeps its scheme, user and host, a `Bearer` header its
 * scheme word, an assignment its key.
 */
import type { ActivityRecord } from '../../shared/activity'

export interface RedactOptions {
  /** also mask PII (it is always detected and listed) */
  redactPii: boolean
}

export interface RedactTextResult {
  text: string
  detection_types: string[]
  pii_detected: string[]
}

export interface RedactValueResult {
  value: unknown
  detection_types: string[]
  pii_detected: string[]
}

export type SecretType =
  | 'github_token'
  | 'gitlab_token'
  | 'slack_token'
  | 'slack_webhook'
  | 'stripe_key'
  | 'openai_key'
  | 'anthropic_key'
  | 'aws_access_key'
  | 'aws_secret_key'
  | 'gcp_api_key'
  | 'gcp_service_account_key'
  | 'jwt'
  | 'bearer_token'
  | 'private_key'
  | 'url_password'
  | 'generic_secret'

export type PiiType = 'email' | 'phone' | 'ssn' | 'iban' | 'credit_card'

export const mask = (type: string): string => `[REDACTED:${type}]`

// Shortest string any pattern can match ("a@b.co" / "AKIA" + 16); shorter strings are skipped.
const MIN_SCAN_LENGTH = 6

// Keys whose string values are secrets whatever they look like. Pagination tokens are not.
const SECRET_KEY =
  /(?:password|passwd|passphrase|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|(?:secret|encryption|signing|master|client)[_-]?key|token|authorization|credentials?|cookie|(?:^|[_-])pass|[_-]pwd)$/i
const NOT_SECRET_KEY = /(?:page|next|continuation|sync|cursor|progress)[_-]?token$|^max[_-]?tokens?$/i

interface SecretRule {
  type: SecretType
  /** lower-case substrings; the rule's regex runs only when the lower-cased text holds one */
  keywords: string[]
  /** global; a `val` group is masked keeping `pre` and `post`, else the whole match is masked */
  re: RegExp
  /** true when the pattern alone says which secret it is (used to type generic assignments) */
  specific?: boolean
}

// a keyword may end in _key (SECRET_KEY=...); pass only as a word of its own (DB_PASS=, not
// bypass=), pwd only after a name (DB_PWD=: a bare PWD is the working directory)
const GENERIC_KEYS = String.raw`(?:(?:password|passwd|passphrase|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|token|credentials?|authorization)(?:[_-]?key)?|(?<![a-z])pass|[a-z0-9][_-]pwd)`
const GENERIC_KEYWORDS = ['pass', 'pwd', 'secret', 'key', 'token', 'credential', 'authorization']

const rule = (type: SecretType, keywords: string[], src: string, flags = 'g', specific = false): SecretRule => ({
  type,
  keywords,
  re: new RegExp(src, flags),
  specific,
})

/*
 * Applied in order, each on the previous one's output: a mask never matches a later rule, so a
 * JWT after `Bearer` stays a jwt and `api_key=sk-...` an openai_key. Keywords keep a 64 KiB
 * response from being scanned by rules that cannot match it.
 */
const SECRET_RULES: SecretRule[] = [
  rule('gcp_service_account_key', ['private_key'], String.raw`(?<pre>"private_key"\s*:\s*")(?<val>-----BEGIN[A-Z ]*PRIVATE KEY-----[^"]*)(?<post>")`),
  // to its END line, or (cut off, no END) over the base64 body and headers that follow
  rule(
    'private_key',
    ['private key'],
    String.raw`-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|(?:[A-Za-z0-9+/=:,\s-]|\\[nr])*)`,
    'g',
    true,
  ),
  rule('slack_webhook', ['hooks.slack.com'], String.raw`https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,}`, 'g', true),
  rule('url_password', ['://'], String.raw`(?<pre>://[^\s:/@"'<>]{0,256}:)(?<val>[^\s/"'<>]{1,256})(?<post>@)`),
  rule('github_token', ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'], String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})\b`, 'g', true),
  rule('gitlab_token', ['glpat-'], String.raw`\bglpat-[A-Za-z0-9_-]{20,}`, 'g', true),
  rule('slack_token', ['xox'], String.raw`\bxox[baprs]-[A-Za-z0-9-]{10,}`, 'g', true),
  rule('stripe_key', ['_live_', '_test_'], String.raw`\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}`, 'g', true),
  rule('anthropic_key', ['sk-ant-'], String.raw`\bsk-ant-[A-Za-z0-9_-]{20,}`, 'g', true),
  rule('openai_key', ['sk-'], String.raw`\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}`, 'g', true),
  rule('aws_access_key', ['akia', 'asia'], String.raw`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`, 'g', true),
  rule('aws_secret_key', ['secret'], String.raw`(?<pre>\baws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?)(?<val>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`, 'gi'),
  // without its name: 40 characters of its alphabet, mixed case with a digit (a hex SHA-1 is not),
  // standing alone, in a text that speaks of AWS or holds an access key id
  rule(
    'aws_secret_key',
    ['aws', 'akia', 'asia'],
    String.raw`(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])`,
  ),
  rule('gcp_api_key', ['aiza'], String.raw`\bAIza[0-9A-Za-z_-]{35}`, 'g', true),
  rule('jwt', ['eyj'], String.raw`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}`, 'g', true),
  rule('bearer_token', ['bearer'], String.raw`(?<pre>\bBearer\s+)(?<val>[A-Za-z0-9._~+/=-]{8,})`, 'gi'),
  // A quoted value ("password": "x") is a value whatever its length; a bare one needs 8+ chars.
  rule('generic_secret', GENERIC_KEYWORDS, String.raw`(?<pre>${GENERIC_KEYS}["']?\s*[:=]\s*"(?:(?:Basic|Token|Bearer)\s+)?)(?<val>(?:[^"\\\n]|\\.){1,1024})(?<post>")`, 'gi'),
  rule('generic_secret', GENERIC_KEYWORDS, String.raw`(?<pre>${GENERIC_KEYS}["']?\s*[:=]\s*["']?(?:(?:Basic|Token|Bearer)\s+)?)(?<val>[^\s"',;&{}<>\[\]]{8,})`, 'gi'),
]

// One scan finds which rules can match at all.
const KEYWORD_RE = new RegExp(
  [...new Set(SECRET_RULES.flatMap((r) => r.keywords))]
    .sort((a, b) => b.length - a.length)
    .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'gi',
)

const KEYWORD_TEST = new RegExp(KEYWORD_RE.source, 'i')

const SPECIFIC_RULES = SECRET_RULES.filter((r) => r.specific).map((r) => ({
  type: r.type,
  re: new RegExp(r.re.source, r.re.flags.replace('g', '')),
}))

/** The specific secret type a value is, if any (used for generic assignments and secret keys). */
export function specificSecretType(value: string): SecretType | undefined {
  for (const r of SPECIFIC_RULES) if (r.re.test(value)) return r.type
  return undefined
}

const KEY_CHAR = /[A-Za-z0-9_.-]/

function applySecretRule(r: SecretRule, text: string, found: Findings): string {
  return text.replace(r.re, (...args: unknown[]) => {
    const match = args[0] as string
    const groups = args[args.length - 1] as Record<string, string | undefined> | undefined
    const val = groups?.val
    if (val === undefined) {
      found.secrets.add(r.type)
      return mask(r.type)
    }
    // already masked by an earlier rule, or a placeholder / number rather than a secret
    if (val.startsWith('[REDACTED')) return match
    const pre = groups?.pre ?? ''
    let type = r.type
    if (r.type === 'generic_secret' || r.type === 'bearer_token') {
      if (/^\d+$/.test(val) || /^\$\{?[A-Za-z_]/.test(val)) return match
      if (r.type === 'generic_secret') {
        // the part of the key before the keyword ("next_page_" of next_page_token)
        const offset = args[args.length - 3] as number
        const source = args[args.length - 2] as string
        let i = offset
        while (i > 0 && KEY_CHAR.test(source[i - 1]!)) i--
        if (NOT_SECRET_KEY.test(source.slice(i, offset) + /^[A-Za-z_-]+/.exec(pre)?.[0])) return match
      }
      type = specificSecretType(val) ?? (/Bearer\s+$/i.test(pre) ? 'bearer_token' : r.type)
    }
    found.secrets.add(type)
    return `${pre}${mask(type)}${groups?.post ?? ''}`
  })
}

// Each alternative starts only where a run starts (the lookbehind right after the first character,
// so the engine's first-character check still skips ahead), so a run is tried once, not once per
// character.
const PII_SOURCES: Array<[PiiType, string]> = [
  ['iban', String.raw`[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])`],
  // every issuer prefix starts with 2-6 (keeps 13-digit millisecond timestamps out cheaply)
  ['credit_card', String.raw`[2-6](?<![\d-][2-6])(?:[ -]?\d){12,18}(?!\d)`],
  ['ssn', String.raw`\d(?<![\d-]\d)\d{2}(?<ssn_sep>[- ])\d{2}\k<ssn_sep>\d{4}(?![\d-])`],
  [
    'phone',
    String.raw`(?:\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|(?<![\d+])\(?[2-9]\d{2}\)?[ .-]\d{3}[ .-]\d{4})(?![\d-])`,
  ],
]
// Email is found from each @ (memchr-fast) outward rather than by a regex that would try every
// word: the local part is walked back over, the domain matched in place.
const LOCAL_CHAR = new Uint8Array(128)
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-') LOCAL_CHAR[c.charCodeAt(0)] = 1
const isLocal = (code: number): boolean => code < 128 && LOCAL_CHAR[code] === 1
const EMAIL_DOMAIN = /(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b/y
const MAX_LOCAL = 64

function replaceEmails(text: string, options: RedactOptions, found: Findings): string {
  let at = text.indexOf('@')
  let out = ''
  let last = 0
  while (at >= 0) {
    let start = at
    while (start > 0 && at - start < MAX_LOCAL && isLocal(text.charCodeAt(start - 1))) start--
    const bounded = start < at && start >= last && (start === 0 || !isLocal(text.charCodeAt(start - 1)))
    EMAIL_DOMAIN.lastIndex = at + 1
    const domain = bounded ? EMAIL_DOMAIN.exec(text) : null
    if (!domain) {
      at = text.indexOf('@', at + 1)
      continue
    }
    const end = at + 1 + domain[0].length
    found.pii.add('email')
    if (options.redactPii) {
      out += text.slice(last, start) + mask('email')
      last = end
    }
    at = text.indexOf('@', end)
  }
  return last === 0 ? text : out + text.slice(last)
}
const PII_RE = new RegExp(PII_SOURCES.map(([name, src]) => `(?<${name}>${src})`).join('|'), 'g')
const PII_TEST = new RegExp(PII_RE.source)
const PII_NAMES = PII_SOURCES.map(([name]) => name)

function luhnValid(digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

// Issuer prefixes (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro): keeps
// 13-digit millisecond timestamps and other long ids from passing on Luhn alone.
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[04-9]|6(?:011|5|4[4-9]|2)|5[06-8])/

export function isCardNumber(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '')
  if (digits.length < 13 || digits.length > 19) return false
  const seps = candidate.match(/[ -]/g)
  if (seps && new Set(seps).size > 1) return false
  return CARD_PREFIX.test(digits) && luhnValid(digits)
}

export function isIban(candidate: string): boolean {
  const s = candidate.replace(/ /g, '')
  if (s.length < 15 || s.length > 34) return false
  const rearranged = s.slice(4) + s.slice(0, 4)
  let rem = 0
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0)
    const v = code >= 65 ? code - 55 : code - 48
    rem = v > 9 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97
  }
  return rem === 1
}

export function isSsn(candidate: string): boolean {
  const m = /^(\d{3})[- ](\d{2})[- ](\d{4})$/.exec(candidate)
  if (!m) return false
  const area = Number(m[1])
  return area !== 0 && area !== 666 && area < 900 && m[2] !== '00' && m[3] !== '0000'
}

function isPhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '').length
  return digits >= 8 && digits <= 15
}

function firstGroup(groups: Record<string, string | undefined>, names: readonly string[]): string | undefined {
  for (const n of names) if (groups[n] !== undefined) return n
  return undefined
}

class Findings {
  readonly secrets = new Set<string>()
  readonly pii = new Set<string>()
}

const PII_CHECKS: Record<PiiType, (candidate: string) => boolean> = {
  email: () => true,
  iban: isIban,
  credit_card: isCardNumber,
  ssn: isSsn,
  phone: isPhone,
}

function redactInto(text: string, options: RedactOptions, found: Findings): string {
  if (text.length < MIN_SCAN_LENGTH) return text
  let out = text
  if (KEYWORD_TEST.test(text)) {
    const present = new Set<string>()
    for (const m of text.matchAll(KEYWORD_RE)) present.add(m[0].toLowerCase())
    for (const r of SECRET_RULES) {
      if (r.keywords.some((k) => present.has(k))) out = applySecretRule(r, out, found)
    }
  }
  out = replaceEmails(out, options, found)
  if (!PII_TEST.test(out)) return out
  out = out.replace(PII_RE, (...args: unknown[]) => {
    const match = args[0] as string
    const groups = args[args.length - 1] as Record<string, string | undefined>
    const name = firstGroup(groups, PII_NAMES) as PiiType | undefined
    if (name === undefined || !PII_CHECKS[name](match)) return match
    found.pii.add(name)
    return options.redactPii ? mask(name) : match
  })
  return out
}

/** Masks secrets (and PII when asked) in a string; lists what was found. */
export function redactText(text: string, options: RedactOptions): RedactTextResult {
  const found = new Findings()
  const out = redactInto(text, options, found)
  return { text: out, detection_types: [...found.secrets], pii_detected: [...found.pii] }
}

/** A command-line flag on its own (`--password`, `-token`), its name captured. */
const FLAG = /^--?([A-Za-z][\w-]*)$/

function keyType(key: string, value: string, parent: Record<string, unknown>): SecretType | undefined {
  if (!SECRET_KEY.test(key) || NOT_SECRET_KEY.test(key)) return undefined
  if (/^private[_-]?key$/i.test(key) && parent.type === 'service_account') return 'gcp_service_account_key'
  if (/^aws[_-]?secret/i.test(key)) return 'aws_secret_key'
  return specificSecretType(value) ?? (/-----BEGIN[A-Z ]*PRIVATE KEY/.test(value) ? 'private_key' : 'generic_secret')
}

/**
 * Strings found while copying a value, redacted together: joined with a separator no pattern
 * crosses (a newline ends every value class), scanned once and split back. Thousands of small
 * strings then cost one scan instead of thousands of scans' fixed overhead.
 */
class StringSlots {
  readonly holders: Array<Record<string, unknown> | unknown[]> = []
  readonly keys: Array<string | number> = []
  readonly values: string[] = []

  add(holder: Record<string, unknown> | unknown[], key: string | number, value: string): void {
    this.holders.push(holder)
    this.keys.push(key)
    this.values.push(value)
  }

  redact(options: RedactOptions, found: Findings): void {
    const n = this.values.length
    if (n === 0) return
    let results: string[] | undefined
    if (n > 1) {
      const batch = new Findings()
      const parts = redactInto(this.values.join(SEPARATOR), options, batch).split(SEPARATOR)
      // a value holding the separator, or a PEM block spanning two values, changes the count
      if (parts.length === n) {
        results = parts
        for (const t of batch.secrets) found.secrets.add(t)
        for (const t of batch.pii) found.pii.add(t)
      }
    }
    results ??= this.values.map((v) => redactInto(v, options, found))
    for (let i = 0; i < n; i++) (this.holders[i] as Record<string, unknown>)[this.keys[i] as string] = results[i]
  }
}

const SEPARATOR = '\n\u0000\n'

function copy(value: unknown, options: RedactOptions, found: Findings, seen: Set<object>, slots: StringSlots): unknown {
  if (typeof value === 'number' && value >= 1e12 && Number.isSafeInteger(value) && isCardNumber(String(value))) {
    found.pii.add('credit_card')
    return options.redactPii ? mask('credit_card') : value
  }
  if (value === null || typeof value !== 'object') return value
  if (seen.has(value)) return '[Circular]'
  seen.add(value)
  let out: Record<string, unknown> | unknown[]
  if (Array.isArray(value)) {
    const arr: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      if (typeof v === 'string') {
        // a command line's value after a secret-named flag (["--password", "hunter2"])
        const flag = i > 0 && typeof value[i - 1] === 'string' ? FLAG.exec(value[i - 1] as string)?.[1] : undefined
        const type = flag && v.length > 0 ? keyType(flag, v, {}) : undefined
        if (type) {
          found.secrets.add(type)
          arr[i] = mask(type)
          continue
        }
        arr[i] = v
        if (v.length >= MIN_SCAN_LENGTH) slots.add(arr, i, v)
      } else arr[i] = copy(v, options, found, seen, slots)
    }
    out = arr
  } else {
    const obj = value as Record<string, unknown>
    const dst: Record<string, unknown> = {}
    for (const k of Object.keys(obj)) {
      const v = obj[k]
      if (typeof v === 'string') {
        const type = v.length > 0 ? keyType(k, v, obj) : undefined
        if (type) {
          found.secrets.add(type)
          dst[k] = mask(type)
        } else {
          dst[k] = v
          if (v.length >= MIN_SCAN_LENGTH) slots.add(dst, k, v)
        }
      } else dst[k] = copy(v, options, found, seen, slots)
    }
    out = dst
  }
  seen.delete(value)
  return out
}

function walk(value: unknown, options: RedactOptions, found: Findings): unknown {
  if (typeof value === 'string') return redactInto(value, options, found)
  const slots = new StringSlots()
  const out = copy(value, options, found, new Set(), slots)
  slots.redact(options, found)
  return out
}

/** Walks a JSON value: strings are masked, and string values under secret-named keys are masked whole. */
export function redactValue(value: unknown, options: RedactOptions): RedactValueResult {
  const found = new Findings()
  const out = walk(value, options, found)
  return { value: out, detection_types: [...found.secrets], pii_detected: [...found.pii] }
}

function merge(existing: string[] | undefined, added: Set<string>): string[] | undefined {
  if (!existing?.length && added.size === 0) return existing
  return [...new Set([...(existing ?? []), ...added])]
}

/**
 * A copy of the record with arguments, response, error, intent reason, entities, metadata, the
 * tool and server names and the client's name, version and executable masked, and
 * what was found merged into detection_types / pii_detected. The activity writer calls it before
 * anything reaches disk.
 */
export function redactRecordFields(record: ActivityRecord, options: RedactOptions): ActivityRecord {
  const found = new Findings()
  const out: ActivityRecord = { ...record }
  if (record.arguments !== undefined) out.arguments = walk(record.arguments, options, found)
  if (record.response !== undefined) out.response = walk(record.response, options, found)
  if (record.error !== undefined) out.error = redactInto(record.error, options, found)
  if (record.intent?.reason !== undefined) {
    out.intent = { ...record.intent, reason: redactInto(record.intent.reason, options, found) }
  }
  if (record.entities) out.entities = record.entities.map((e) => redactInto(e, options, found))
  // names come from clients and servers too: a token pasted as a tool's name is masked as well
  if (record.tool_name !== undefined) out.tool_name = redactInto(record.tool_name, options, found)
  if (record.server_name !== undefined) out.server_name = redactInto(record.server_name, options, found)
  if (record.client !== undefined) {
    const { name, version, exe } = record.client
    out.client = {
      ...record.client,
      ...(name !== undefined ? { name: redactInto(name, options, found) } : {}),
      ...(version !== undefined ? { version: redactInto(version, options, found) } : {}),
      ...(exe !== undefined ? { exe: redactInto(exe, options, found) } : {}),
    }
  }
  // server and config changes can carry env vars and headers
  if (record.metadata !== undefined) out.metadata = walk(record.metadata, options, found) as Record<string, unknown>
  const detection = merge(record.detection_types, found.secrets)
  const pii = merge(record.pii_detected, found.pii)
  if (detection !== undefined) out.detection_types = detection
  if (pii !== undefined) out.pii_detected = pii
  return out
}

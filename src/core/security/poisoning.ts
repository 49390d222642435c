/**
 * Tool-poisoning checks on tool definitions as an upstream lists them: hidden or bidi Unicode,
 * instructions aimed at the model, references to other servers' tools, exfiltration URLs and
 * encoded payloads, in the tool's name, description and every description/title inside its
 * input schema. A finding quarantines the server until a person reviews it.
 */
import type { ToolFindingInfo } from '../../shared/servers'

export interface ScannedTool {
  name: string
  description?: string
  inputSchema?: unknown
}

export interface ScanContext {
  /** this server's name */
  server: string
  /** names of the other configured servers */
  otherServers: string[]
  /** tools of the other servers, as `tool` or `server:tool` */
  otherTools: string[]
  /** this server's own tool names: a bare mention of one of them is not a cross-server reference */
  ownTools?: string[]
}

export type FindingKind =
  | 'hidden_unicode'
  | 'bidi_override'
  | 'model_instruction'
  | 'sensitive_file'
  | 'cross_server_reference'
  | 'exfiltration_url'
  | 'encoded_payload'

type Severity = ToolFindingInfo['severity']

interface Text {
  /** where the text sits, e.g. `description` or `inputSchema.properties.path.description` */
  where: string
  value: string
}

type Add = (kind: FindingKind, detail: string, severity: Severity) => void

interface Scan {
  findings: ToolFindingInfo[]
  add: Add
  refs: RegExp | null
}

function newScan(tool: string, refs: RegExp | null): Scan {
  const findings: ToolFindingInfo[] = []
  const add: Add = (kind, detail, severity) => {
    if (!findings.some((f) => f.kind === kind && f.detail === detail)) findings.push({ tool, kind, detail, severity })
  }
  return { findings, add, refs }
}

const MAX_SNIPPET = 80

function snippet(s: string): string {
  const clean = s.replace(/\s+/g, ' ').trim()
  return clean.length > MAX_SNIPPET ? `${clean.slice(0, MAX_SNIPPET - 1)}…` : clean
}

function codepoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`
}

// Invisible characters with no business in a tool description. ZWJ is allowed between emoji.
// The classes list single code points on purpose (joiners and selectors included), hence:
// eslint-disable-next-line no-misleading-character-class
const HIDDEN = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180E\u200B-\u200D\u2060-\u2064\u206A-\u206F\u3164\uFEFF\uFFA0\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu
const BIDI = /[\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE_IN_KEY = new RegExp(`${HIDDEN.source}|${BIDI.source}`, 'u')
const EMOJI = /\p{Extended_Pictographic}/u

function scanUnicode(t: Text, add: Add): void {
  const hidden = new Set<string>()
  let tagText = ''
  for (const m of t.value.matchAll(HIDDEN)) {
    const cp = m[0].codePointAt(0)!
    if (cp === 0x200d) {
      const before = t.value.slice(Math.max(0, m.index - 2), m.index)
      const after = t.value.slice(m.index + 1, m.index + 3)
      if (EMOJI.test(before) && EMOJI.test(after)) continue
    }
    if (cp >= 0xe0020 && cp <= 0xe007e) tagText += String.fromCodePoint(cp - 0xe0000)
    hidden.add(codepoint(cp))
  }
  if (hidden.size > 0) {
    const decoded = tagText ? `; hidden text: "${snippet(tagText)}"` : ''
    add('hidden_unicode', `${t.where}: invisible characters ${[...hidden].slice(0, 5).join(', ')}${decoded}`, 'high')
  }
  const bidi = new Set<string>()
  for (const m of t.value.matchAll(BIDI)) bidi.add(codepoint(m[0].codePointAt(0)!))
  if (bidi.size > 0) add('bidi_override', `${t.where}: bidirectional controls ${[...bidi].join(', ')}`, 'high')
}

interface Pattern {
  kind: FindingKind
  severity: Severity
  label: string
  re: RegExp
}

const INSTRUCTION_PATTERNS: Pattern[] = [
  {
    kind: 'model_instruction',
    severity: 'high',
    label: 'tells the model to ignore its instructions',
    re: /\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|preceding|other|system)\s+(?:instructions|prompts?|rules|directions|guidelines|messages)/i,
  },
  {
    kind: 'model_instruction',
    severity: 'high',
    label: 'asks to hide something from the user',
    re: /\b(?:do\s+not|don'?t|never|must\s+not)\s+(?:tell|inform|mention|reveal|show|notify|alert|let)\s+(?:this\s+to\s+|it\s+to\s+|anything\s+to\s+)?(?:the\s+)?user|\bwithout\s+(?:telling|informing|notifying|alerting|asking)\s+(?:the\s+)?user|\b(?:keep|hide)\s+(?:this|it)\s+(?:secret\s+|hidden\s+)?from\s+(?:the\s+)?user|\bthe\s+user\s+(?:must|should)\s+not\s+(?:know|see|be\s+told)/i,
  },
  {
    kind: 'model_instruction',
    severity: 'high',
    label: 'hidden instruction block',
    re: /<\s*\/?\s*(?:important|system|instructions?|override)\s*>|\[\s*(?:system|important|instructions?)\s*\]/i,
  },
  {
    kind: 'model_instruction',
    severity: 'high',
    label: 'orders an action before the tool is used',
    re: /\bbefore\s+(?:using|calling|running|invoking|executing)\s+(?:this|the|any)\s+tools?\b[^.\n]{0,40}?\b(?:read|open|cat|send|fetch|call|include|pass|upload|load|get)\b/i,
  },
  {
    kind: 'model_instruction',
    severity: 'high',
    label: 'asks for the conversation or other secrets',
    re: /\b(?:include|send|pass|append|attach|forward|upload|post)\s+(?:the\s+)?(?:full\s+|entire\s+|whole\s+)?(?:conversation|chat\s+history|previous\s+messages|system\s+prompt|api\s+keys?|credentials|environment\s+variables)/i,
  },
  {
    kind: 'model_instruction',
    severity: 'medium',
    label: 'system-prompt style text',
    re: /(?:^|\n)\s*(?:#+\s*)?system\s*(?:prompt)?\s*:|\byou\s+are\s+now\b|\bnew\s+instructions\s*:|\bas\s+an\s+ai\s+(?:assistant|model)\s*,?\s+you\s+must\b|\bfrom\s+now\s+on\s*,?\s+(?:you|always)\b/i,
  },
  {
    kind: 'model_instruction',
    severity: 'medium',
    label: 'steers the model away from other tools',
    re: /\b(?:instead\s+of|rather\s+than)\s+(?:using|calling)\s+(?:the\s+|any\s+)?(?:other\s+)?\S+\s+tools?\b|\b(?:always|only)\s+use\s+this\s+tool\s+(?:instead|for\s+all)|\bdo\s+not\s+use\s+(?:any\s+)?other\s+tools?\b/i,
  },
  {
    kind: 'sensitive_file',
    severity: 'high',
    label: 'points the model at credential files',
    // a dot file only at the start of a path segment, so `process.env` is not `.env`
    re: /(?:^|[\s/\\'"`~(])\.(?:ssh[/\\]|aws[/\\]credentials|gnupg[/\\]|docker[/\\]config\.json|kube[/\\]config|netrc|npmrc|pypirc|git-credentials|env\b|cursor[/\\]mcp\.json)|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\/etc\/(?:passwd|shadow)\b|\bclaude_desktop_config\.json\b/i,
  },
]

// Hosts that receive data for someone else: request bins, tunnels, pastebins, chat webhooks.
const EXFIL_HOSTS =
  /(?:^|\.)(?:webhook\.site|requestbin\.(?:com|net)|pipedream\.net|ngrok(?:-free)?\.(?:io|app|dev)|trycloudflare\.com|loca\.lt|localtunnel\.me|serveo\.net|pastebin\.com|hastebin\.com|ghostbin\.\w+|paste\.ee|transfer\.sh|0x0\.st|beeceptor\.com|requestcatcher\.com|burpcollaborator\.net|oastify\.com|interact\.sh|oast\.(?:fun|live|me|online|pro|site)|canarytokens\.com|hookbin\.com|mockbin\.org)$/i
const URL_RE = /\bhttps?:\/\/[^\s"'<>()`]+/gi
// Template placeholders in a URL: {data}, <secret>, $VAR, ${x}, {{x}}, %s
const PLACEHOLDER = /\{\{?[^}]*\}\}?|<[^>]+>|\$\{?[A-Za-z_]\w*|%s/
const WEBHOOK_PATH = /\/(?:api\/webhooks|webhooks?|hooks)\//i

function scanUrls(t: Text, add: Add): void {
  for (const m of t.value.matchAll(URL_RE)) {
    const raw = m[0].replace(/[.,;:!?]+$/, '')
    let host = ''
    try {
      host = new URL(raw.replace(PLACEHOLDER, 'x')).hostname
    } catch {
      host = ''
    }
    const reasons: string[] = []
    let severity: Severity = 'medium'
    if (host && EXFIL_HOSTS.test(host)) {
      reasons.push('data-collection host')
      severity = 'high'
    }
    // placeholders in a path are API documentation (/repos/{owner}); in the query they carry data out
    const query = raw.includes('?') ? raw.slice(raw.indexOf('?')) : ''
    if (PLACEHOLDER.test(query)) {
      reasons.push('placeholder to fill with data')
      severity = 'high'
    }
    if (/[?&][\w.-]+=(?:&|$)/.test(raw)) {
      reasons.push('empty query parameter to fill with data')
      severity = 'high'
    }
    if (WEBHOOK_PATH.test(raw)) reasons.push('webhook path')
    if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) && host !== '127.0.0.1') reasons.push('raw IP address')
    if (reasons.length > 0) add('exfiltration_url', `${t.where}: ${snippet(raw)} (${reasons.join(', ')})`, severity)
  }
}

const BASE64_RE = /[A-Za-z0-9+/_-]{60,}={0,2}/g
const HEX_RE = /\b(?:[0-9a-fA-F]{2}){32,}\b/g

function printableRatio(s: string): number {
  if (!s) return 0
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9) n++
  }
  return n / s.length
}

function scanEncoded(scan: Scan, t: Text, depth: number): void {
  const blobs: Array<[string, string]> = []
  for (const m of t.value.matchAll(HEX_RE)) blobs.push(['hex', m[0]])
  for (const m of t.value.matchAll(BASE64_RE)) {
    const s = m[0]
    // Identifiers and paths are long too; a payload mixes cases and digits.
    if (/^[0-9a-fA-F]+$/.test(s) || !/[a-z]/.test(s) || !/[A-Z]/.test(s) || !/\d/.test(s)) continue
    blobs.push(['base64', s])
  }
  for (const [encoding, blob] of blobs) {
    const decoded = Buffer.from(blob, encoding === 'hex' ? 'hex' : 'base64').toString('utf8')
    const readable = printableRatio(decoded) > 0.9
    let severity: Severity = 'medium'
    let extra = ''
    if (readable) {
      extra = `; decodes to "${snippet(decoded)}"`
      const before = scan.findings.length
      if (depth < 2) scanText(scan, { where: `${t.where} (decoded ${encoding})`, value: decoded }, depth + 1)
      if (scan.findings.length > before) severity = 'high'
    }
    scan.add('encoded_payload', `${t.where}: ${blob.length}-character ${encoding} blob${extra}`, severity)
  }
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/*
 * Another server's tool named in `server:tool`, `server__tool` or `server.tool` form, a distinctive
 * bare tool name (with a separator, so `search` or `add` never match ordinary prose), or another
 * server named as a server.
 */
function referencesRegex(ctx: ScanContext, self: string[]): RegExp | null {
  const own = new Set([...self, ...(ctx.ownTools ?? [])])
  const parts: string[] = []
  for (const entry of ctx.otherTools) {
    const i = entry.indexOf(':')
    const server = i >= 0 ? entry.slice(0, i) : ''
    const tool = i >= 0 ? entry.slice(i + 1) : entry
    if (!tool || server === ctx.server) continue
    if (server) parts.push(`${escapeRe(server)}(?::|__|\\.)${escapeRe(tool)}`)
    if (/[_-]/.test(tool) && tool.length >= 5 && !own.has(tool)) parts.push(escapeRe(tool))
  }
  for (const server of ctx.otherServers) {
    if (!server || server === ctx.server) continue
    parts.push(`${escapeRe(server)}(?:__\\w+|\\s+(?:mcp\\s+)?(?:server|tools?)\\b)`)
  }
  if (parts.length === 0) return null
  return new RegExp(`(?<![\\w-])(?:${parts.join('|')})(?![\\w-])`, 'gi')
}

function scanText(scan: Scan, t: Text, depth = 0): void {
  const add = scan.add
  scanUnicode(t, add)
  for (const p of INSTRUCTION_PATTERNS) {
    const m = p.re.exec(t.value)
    if (m) add(p.kind, `${t.where}: ${p.label}: "${snippet(m[0])}"`, p.severity)
  }
  scanUrls(t, add)
  if (scan.refs) {
    const names = new Set<string>()
    for (const m of t.value.matchAll(scan.refs)) names.add(m[0])
    if (names.size > 0) add('cross_server_reference', `${t.where}: mentions another server's tools: ${[...names].slice(0, 5).join(', ')}`, 'medium')
  }
  scanEncoded(scan, t, depth)
}

// Schema keys whose strings the model reads.
const SCHEMA_TEXT_KEYS = new Set(['description', 'title', 'default', 'examples', 'enum', 'const', '$comment'])

function schemaTexts(node: unknown, path: string, out: Text[], depth: number): void {
  if (depth > 20 || node === null || typeof node !== 'object') return
  if (Array.isArray(node)) {
    node.forEach((v, i) => schemaTexts(v, `${path}[${i}]`, out, depth + 1))
    return
  }
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const where = `${path}.${key}`
    if (INVISIBLE_IN_KEY.test(key)) out.push({ where: `${path} key`, value: key })
    if (SCHEMA_TEXT_KEYS.has(key)) {
      if (typeof value === 'string') out.push({ where, value })
      else if (Array.isArray(value)) value.forEach((v, i) => typeof v === 'string' && out.push({ where: `${where}[${i}]`, value: v }))
    }
    if (typeof value === 'object') schemaTexts(value, where, out, depth + 1)
  }
}

/** Findings for one tool definition; an empty list means nothing suspicious was seen. */
export function scanTool(tool: ScannedTool, context: ScanContext): ToolFindingInfo[] {
  return scanWith(tool, referencesRegex(context, [tool.name]))
}

function scanWith(tool: ScannedTool, refs: RegExp | null): ToolFindingInfo[] {
  const scan = newScan(tool.name, refs)
  scanUnicode({ where: 'name', value: tool.name }, scan.add)
  const texts: Text[] = []
  if (tool.description) texts.push({ where: 'description', value: tool.description })
  if (tool.inputSchema !== undefined) schemaTexts(tool.inputSchema, 'inputSchema', texts, 0)
  for (const t of texts) scanText(scan, t)
  return scan.findings
}

/**
 * Findings for every tool of one server. A bare mention of one of the server's own tool names is
 * not a reference, so two servers sharing a tool name do not flag each other for it.
 */
export function scanTools(server: string, tools: ScannedTool[], otherServers: string[], otherTools: string[]): ToolFindingInfo[] {
  const context: ScanContext = {
    server,
    otherServers: otherServers.filter((s) => s !== server),
    otherTools: otherTools.filter((entry) => !entry.startsWith(`${server}:`)),
  }
  const refs = referencesRegex(context, tools.map((t) => t.name))
  return tools.flatMap((t) => scanWith(t, refs))
}

/** The highest severity among findings, or null for none. */
export function maxSeverity(findings: ToolFindingInfo[]): Severity | null {
  const order: Severity[] = ['high', 'medium', 'low']
  for (const s of order) if (findings.some((f) => f.severity === s)) return s
  return null
}

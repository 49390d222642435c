/**
 * The HTML activity report: one self-contained file (inline CSS and JS, no external assets) with a
 * session summary, tool classification, data access map and an interactive timeline.
 *
 * The tables are rendered here, HTML-escaped. The timeline's events travel as JSON in a
 * `<script type="application/json">` element with `<`, `>` and `&` escaped, and the page renders
 * 200 rows at a time with `textContent` only, so 100,000 events keep a small DOM and no record
 * text is ever parsed as markup. A Content-Security-Policy allows no network access and only the
 * report's own script (by hash).
 */
import { createHash } from 'node:crypto'
import type { ActivityFilter, ActivityRecord, OperationType } from '../../shared/activity'
import { extractEntities } from '../security/entities'
import { listMatches } from '../security/policy'

export interface ReportOptions {
  title?: string
  generatedAt?: Date | string
  /** shown under the title; defaults to a description of `filter` */
  filterDescription?: string
  filter?: ActivityFilter
  /** tools to mark sensitive / write beyond what the records' flags say (`tool`, `server:tool`, globs) */
  sensitiveTools?: string[]
  writeTools?: string[]
  /** characters of arguments / response kept per event (default 4096) */
  maxBodyChars?: number
  /** characters of bodies kept in the whole report; later events keep metadata only (default 48 Mi) */
  bodyBudgetChars?: number
}

const DEFAULT_BODY_CHARS = 4096
const DEFAULT_BODY_BUDGET = 48 * 1024 * 1024
const MAX_TABLE_ROWS = 500
const MAX_ENTITIES_TRACKED = 20_000
const MAX_TOOLS_PER_ENTITY = 20

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** JSON safe to embed in a `<script>` element: no `<`, `>` or `&` survive as such. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
}

interface ToolStats {
  server: string
  tool: string
  calls: number
  errors: number
  blocked: number
  durationTotal: number
  durationCount: number
  declared: Set<OperationType>
  flags: Set<string>
}

interface EntityStats {
  count: number
  tools: Set<string>
  sessions: Set<string>
  first: string
  last: string
}

interface SessionStats {
  id: string
  client: string
  calls: number
  errors: number
  blocked: number
  first: string
  last: string
}

/** One timeline event as the page receives it (short keys keep 100k events small). */
interface ReportEvent {
  id: string
  t: string
  y: string
  s: string
  sv?: string
  tl?: string
  ss?: string
  d?: number
  f?: string[]
  p?: ActivityRecord['policy']
  e?: string
  in?: ActivityRecord['intent']
  a?: string
  r?: string
  rt?: boolean
  x?: string[]
  c?: string
  /** bodies left out because the report's size budget was spent */
  om?: boolean
}

function bodyText(value: unknown, max: number): string | undefined {
  if (value === undefined) return undefined
  let s: string
  try {
    s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  } catch {
    s = String(value)
  }
  return s.length > max ? `${s.slice(0, max)}… [${s.length - max} more characters in the log]` : s
}

function clientName(r: ActivityRecord): string | undefined {
  if (!r.client?.name) return undefined
  return r.client.version ? `${r.client.name} ${r.client.version}` : r.client.name
}

function describeFilter(filter: ActivityFilter | undefined): string {
  if (!filter) return 'all records'
  const parts = Object.entries(filter)
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
  return parts.length ? parts.join(' ') : 'all records'
}

function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return ''
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 120) return `${s.toFixed(1)} s`
  const m = s / 60
  if (m < 120) return `${m.toFixed(1)} min`
  return `${(m / 60).toFixed(1)} h`
}

const RANK: Record<OperationType, number> = { read: 0, write: 1, destructive: 2 }

function classify(t: ToolStats, options: ReportOptions): { op: OperationType | 'unknown'; sensitive: boolean; basis: string } {
  const sensitive = t.flags.has('sensitive') || listMatches(options.sensitiveTools ?? [], t.server, t.tool)
  let op: OperationType | 'unknown' = 'unknown'
  let basis = 'no flags or intent recorded'
  const raise = (to: OperationType, why: string): void => {
    if (op === 'unknown' || RANK[to] > RANK[op]) {
      op = to
      basis = why
    }
  }
  for (const d of t.declared) raise(d, 'declared intent')
  if (t.flags.has('assumed_write')) raise('write', 'not annotated (assumed write)')
  if (t.flags.has('write') || listMatches(options.writeTools ?? [], t.server, t.tool)) raise('write', 'write_tools list')
  if (t.flags.has('destructive')) raise('destructive', 'destructive annotation')
  return { op, sensitive, basis }
}

/** Renders the report for the records given (any order; the timeline is sorted by time). */
export async function renderHtmlReport(records: AsyncIterable<ActivityRecord> | Iterable<ActivityRecord>, options: ReportOptions = {}): Promise<string> {
  const maxBody = options.maxBodyChars ?? DEFAULT_BODY_CHARS
  let budget = options.bodyBudgetChars ?? DEFAULT_BODY_BUDGET
  const events: ReportEvent[] = []
  const tools = new Map<string, ToolStats>()
  const entities = new Map<string, EntityStats>()
  const sessions = new Map<string, SessionStats>()
  const clients = new Set<string>()
  const byType = new Map<string, number>()
  let calls = 0
  let errors = 0
  let blocked = 0
  let policyDecisions = 0
  let first: string | undefined
  let last: string | undefined
  let entitiesDropped = false
  let bodiesOmitted = 0

  for await (const r of records) {
    if (!first || r.timestamp < first) first = r.timestamp
    if (!last || r.timestamp > last) last = r.timestamp
    byType.set(r.type, (byType.get(r.type) ?? 0) + 1)
    const client = clientName(r)
    if (client) clients.add(client)
    const isCall = r.type === 'tool_call'
    const isError = r.status === 'error' || r.status === 'timeout'
    const isBlocked = r.status === 'blocked'
    if (isCall) calls++
    if (isError) errors++
    if (isBlocked) blocked++
    if (r.type === 'policy_decision') policyDecisions++

    if (r.session_id) {
      let s = sessions.get(r.session_id)
      if (!s) {
        s = { id: r.session_id, client: client ?? '', calls: 0, errors: 0, blocked: 0, first: r.timestamp, last: r.timestamp }
        sessions.set(r.session_id, s)
      }
      if (!s.client && client) s.client = client
      if (isCall) s.calls++
      if (isError) s.errors++
      if (isBlocked) s.blocked++
      if (r.timestamp < s.first) s.first = r.timestamp
      if (r.timestamp > s.last) s.last = r.timestamp
    }

    const toolKey = r.tool_name ? `${r.server_name ?? ''}:${r.tool_name}` : undefined
    if (toolKey && (isCall || r.type === 'policy_decision')) {
      let t = tools.get(toolKey)
      if (!t) {
        t = {
          server: r.server_name ?? '',
          tool: r.tool_name!,
          calls: 0,
          errors: 0,
          blocked: 0,
          durationTotal: 0,
          durationCount: 0,
          declared: new Set(),
          flags: new Set(),
        }
        tools.set(toolKey, t)
      }
      if (isCall) t.calls++
      if (isError) t.errors++
      if (isBlocked) t.blocked++
      if (typeof r.duration_ms === 'number') {
        t.durationTotal += r.duration_ms
        t.durationCount++
      }
      if (r.intent?.operation_type) t.declared.add(r.intent.operation_type)
      for (const f of r.flags ?? []) t.flags.add(f)
    }

    // Blocked calls and policy decisions never reached the data, so they touch nothing.
    const touched = isCall && !isBlocked ? (r.entities ?? extractEntities(r.arguments)) : []
    for (const e of touched) {
      let s = entities.get(e)
      if (!s) {
        if (entities.size >= MAX_ENTITIES_TRACKED) {
          entitiesDropped = true
          continue
        }
        s = { count: 0, tools: new Set(), sessions: new Set(), first: r.timestamp, last: r.timestamp }
        entities.set(e, s)
      }
      s.count++
      if (toolKey && s.tools.size < MAX_TOOLS_PER_ENTITY) s.tools.add(toolKey)
      if (r.session_id && s.sessions.size < MAX_TOOLS_PER_ENTITY) s.sessions.add(r.session_id)
      if (r.timestamp < s.first) s.first = r.timestamp
      if (r.timestamp > s.last) s.last = r.timestamp
    }

    const ev: ReportEvent = { id: r.id, t: r.timestamp, y: r.type, s: r.status }
    if (r.server_name) ev.sv = r.server_name
    if (r.tool_name) ev.tl = r.tool_name
    if (r.session_id) ev.ss = r.session_id
    if (typeof r.duration_ms === 'number') ev.d = r.duration_ms
    if (r.flags?.length) ev.f = r.flags
    if (r.policy) ev.p = r.policy
    if (r.error) ev.e = r.error.length > maxBody ? `${r.error.slice(0, maxBody)}…` : r.error
    if (r.intent) ev.in = r.intent
    if (r.response_truncated) ev.rt = true
    const detections = [...(r.detection_types ?? []), ...(r.pii_detected ?? [])]
    if (detections.length) ev.x = detections
    if (client) ev.c = client
    if (budget > 0) {
      ev.a = bodyText(r.arguments, maxBody)
      ev.r = bodyText(r.response, maxBody)
      budget -= (ev.a?.length ?? 0) + (ev.r?.length ?? 0)
    } else if (r.arguments !== undefined || r.response !== undefined) {
      ev.om = true
      bodiesOmitted++
    }
    events.push(ev)
  }

  events.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

  const title = options.title ?? 'MCPProxy activity report'
  const generatedAt = options.generatedAt instanceof Date ? options.generatedAt.toISOString() : (options.generatedAt ?? new Date().toISOString())
  const filterText = options.filterDescription ?? describeFilter(options.filter)
  const span = first && last ? `${first} → ${last} (${fmtDuration(Date.parse(last) - Date.parse(first))})` : '—'

  const summaryCards: Array<[string, string, string?]> = [
    ['Records', String(events.length)],
    ['Tool calls', String(calls)],
    ['Sessions', String(sessions.size)],
    ['Clients', String(clients.size)],
    ['Errors', String(errors), errors ? 'bad' : undefined],
    ['Blocked', String(blocked), blocked ? 'warn' : undefined],
    ['Policy decisions', String(policyDecisions), policyDecisions ? 'warn' : undefined],
  ]

  const toolRows = [...tools.values()].sort((a, b) => b.calls - a.calls || a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool))
  const toolHtml = toolRows
    .slice(0, MAX_TABLE_ROWS)
    .map((t) => {
      const c = classify(t, options)
      const badges = [`<span class="badge op-${c.op}">${c.op}</span>`]
      if (c.sensitive) badges.push('<span class="badge sensitive">sensitive</span>')
      const avg = t.durationCount ? fmtDuration(t.durationTotal / t.durationCount) : ''
      const rowClass = c.sensitive ? 'sensitive' : c.op === 'destructive' || c.op === 'write' ? c.op : ''
      return `<tr class="${rowClass}"><td>${escapeHtml(t.server)}</td><td>${escapeHtml(t.tool)}</td><td>${badges.join(' ')}</td><td class="muted">${escapeHtml(c.basis)}</td><td class="num">${t.calls}</td><td class="num${t.errors ? ' bad' : ''}">${t.errors}</td><td class="num${t.blocked ? ' warn' : ''}">${t.blocked}</td><td class="num">${avg}</td></tr>`
    })
    .join('\n')

  const sessionRows = [...sessions.values()].sort((a, b) => (a.first < b.first ? -1 : 1))
  const sessionHtml = sessionRows
    .slice(0, MAX_TABLE_ROWS)
    .map(
      (s) =>
        `<tr><td class="mono">${escapeHtml(s.id)}</td><td>${escapeHtml(s.client)}</td><td class="num">${s.calls}</td><td class="num${s.errors ? ' bad' : ''}">${s.errors}</td><td class="num${s.blocked ? ' warn' : ''}">${s.blocked}</td><td class="mono">${escapeHtml(s.first)}</td><td class="num">${fmtDuration(Date.parse(s.last) - Date.parse(s.first))}</td></tr>`,
    )
    .join('\n')

  const entityRows = [...entities.entries()].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
  const entityHtml = entityRows
    .slice(0, MAX_TABLE_ROWS)
    .map(
      ([e, s]) =>
        `<tr><td class="mono">${escapeHtml(e)}</td><td class="num">${s.count}</td><td>${[...s.tools].map((t) => `<span class="chip">${escapeHtml(t)}</span>`).join(' ')}</td><td class="num">${s.sessions.size}</td><td class="mono">${escapeHtml(s.last)}</td></tr>`,
    )
    .join('\n')

  const more = (shown: number, total: number, what: string): string =>
    total > shown ? `<p class="muted">Showing the first ${shown} of ${total} ${what}.</p>` : ''

  const script = CLIENT_SCRIPT
  const scriptHash = createHash('sha256').update(script).digest('base64')
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:`

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mcpproxy">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Generated ${escapeHtml(generatedAt)} · Filter: ${escapeHtml(filterText)} · Time span: ${escapeHtml(span)}</p>
</header>
<section id="summary">
<h2>Session summary</h2>
<div class="cards">${summaryCards
    .map(([k, v, cls]) => `<div class="card${cls ? ` ${cls}` : ''}"><div class="k">${escapeHtml(k)}</div><div class="v" data-stat="${escapeHtml(k)}">${escapeHtml(v)}</div></div>`)
    .join('')}</div>
${clients.size ? `<p>Clients: ${[...clients].slice(0, 50).map((c) => `<span class="chip">${escapeHtml(c)}</span>`).join(' ')}</p>` : ''}
<table id="sessions"><thead><tr><th>Session</th><th>Client</th><th>Calls</th><th>Errors</th><th>Blocked</th><th>Started</th><th>Length</th></tr></thead>
<tbody>${sessionHtml || '<tr><td colspan="7" class="muted">No sessions</td></tr>'}</tbody></table>
${more(MAX_TABLE_ROWS, sessionRows.length, 'sessions')}
</section>
<section id="tools">
<h2>Tool classification</h2>
<table><thead><tr><th>Server</th><th>Tool</th><th>Class</th><th>Basis</th><th>Calls</th><th>Errors</th><th>Blocked</th><th>Avg time</th></tr></thead>
<tbody>${toolHtml || '<tr><td colspan="8" class="muted">No tool calls</td></tr>'}</tbody></table>
${more(MAX_TABLE_ROWS, toolRows.length, 'tools')}
</section>
<section id="entities">
<h2>Data access map</h2>
<table><thead><tr><th>Entity</th><th>Uses</th><th>Tools</th><th>Sessions</th><th>Last</th></tr></thead>
<tbody>${entityHtml || '<tr><td colspan="5" class="muted">No ids, paths or URLs in the arguments</td></tr>'}</tbody></table>
${more(MAX_TABLE_ROWS, entityRows.length, 'entities')}${entitiesDropped ? `<p class="muted">Only the first ${MAX_ENTITIES_TRACKED} distinct entities are tracked.</p>` : ''}
</section>
<section id="timeline">
<h2>Timeline</h2>
${bodiesOmitted ? `<p class="muted">Arguments and responses of ${bodiesOmitted} later events are left out to keep this file small; <code>mcpproxy activity show ID</code> prints them.</p>` : ''}
<div class="controls">
<input id="q" type="search" placeholder="Filter: tool, server, status, session, text…" aria-label="Filter events">
<select id="kind" aria-label="Show"><option value="">All events</option><option value="problem">Errors and blocked</option><option value="policy">Policy decisions</option><option value="flagged">Flagged (sensitive, write, detections)</option></select>
<button id="prev" type="button">‹ Prev</button><span id="page"></span><button id="next" type="button">Next ›</button>
</div>
<table id="events"><thead><tr><th>Time</th><th>Type</th><th>Server</th><th>Tool</th><th>Status</th><th>Duration</th><th>Session</th><th>Notes</th></tr></thead><tbody id="rows"></tbody></table>
<noscript><p>The timeline needs JavaScript; the tables above do not.</p></noscript>
</section>
<script type="application/json" id="report-data">${jsonForScript(events)}</script>
<script>${script}</script>
</body>
</html>
`
}

const STYLE = `
:root{--fg:#1d2330;--muted:#6b7280;--line:#e5e7eb;--bg:#fff;--bad:#b91c1c;--badbg:#fee2e2;--warn:#b45309;--warnbg:#fef3c7;--sens:#be123c;--ok:#047857}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;padding:16px 24px;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted)}.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px}
.card .k{color:var(--muted);font-size:12px}.card .v{font-size:20px;font-weight:600}.card.bad .v{color:var(--bad)}.card.warn .v{color:var(--warn)}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}td.bad{color:var(--bad);font-weight:600}td.warn{color:var(--warn);font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;border:1px solid var(--line)}
.op-read{color:var(--ok)}.op-write{color:var(--warn);background:var(--warnbg)}.op-destructive{color:#fff;background:var(--bad)}.op-unknown{color:var(--muted)}
.badge.sensitive{color:#fff;background:var(--sens)}tr.sensitive td:first-child{box-shadow:inset 3px 0 var(--sens)}tr.write td:first-child{box-shadow:inset 3px 0 var(--warn)}tr.destructive td:first-child{box-shadow:inset 3px 0 var(--bad)}
.chip{display:inline-block;background:#f3f4f6;border-radius:10px;padding:0 8px;margin:1px;font-size:12px}
.controls{display:flex;gap:8px;align-items:center;margin:8px 0}.controls input{flex:1;padding:6px 8px}.controls button,.controls select{padding:5px 10px}
#events tbody tr.ev{cursor:pointer}#events tbody tr.ev:hover{background:#f9fafb}
tr.st-error,tr.st-timeout{background:var(--badbg)}tr.st-blocked,tr.pol{background:var(--warnbg)}tr.flag-sensitive td:first-child{box-shadow:inset 3px 0 var(--sens)}
tr.detail td{background:#fafafa}tr.detail pre{white-space:pre-wrap;word-break:break-word;max-height:420px;overflow:auto;margin:4px 0;padding:6px;border:1px solid var(--line);background:#fff}
tr.detail h4{margin:6px 0 2px;font-size:12px;color:var(--muted)}tr.detail .meta{color:var(--muted);margin:4px 0}
`

// Runs in the report page. Builds rows with createElement/textContent only.
const CLIENT_SCRIPT = `(function(){
'use strict';
var all=JSON.parse(document.getElementById('report-data').textContent);
var PAGE=200,page=0,shown=all,open={};
var q=document.getElementById('q'),kind=document.getElementById('kind'),rows=document.getElementById('rows'),pageEl=document.getElementById('page');
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=String(text);return e}
function hay(e){return [e.y,e.s,e.sv,e.tl,e.ss,e.e,e.c,e.id,(e.f||[]).join(' '),(e.x||[]).join(' '),e.p?e.p.decision+' '+(e.p.rule||'')+' '+(e.p.reason||''):'',e.in&&e.in.reason,e.a,e.r].join(' ').toLowerCase()}
function flagged(e){return (e.f&&e.f.length)||(e.x&&e.x.length)}
function apply(){var t=q.value.trim().toLowerCase(),k=kind.value;shown=all.filter(function(e){
if(k==='problem'&&e.s!=='error'&&e.s!=='timeout'&&e.s!=='blocked')return false;
if(k==='policy'&&e.y!=='policy_decision'&&!e.p)return false;
if(k==='flagged'&&!flagged(e))return false;
return !t||hay(e).indexOf(t)>=0});page=0;render()}
function pretty(s){if(s==null)return '';try{return JSON.stringify(JSON.parse(s),null,2)}catch(_){return s}}
function detail(e){var tr=el('tr','detail'),td=el('td');td.colSpan=8;
function block(h,v){if(v==null||v==='')return;td.appendChild(el('h4',null,h));td.appendChild(el('pre',null,v))}
var meta=['id '+e.id];if(e.c)meta.push('client '+e.c);if(e.ss)meta.push('session '+e.ss);if(e.f)meta.push('flags '+e.f.join(', '));if(e.x)meta.push('detected (masked before storage) '+e.x.join(', '));
td.appendChild(el('div','meta mono',meta.join(' · ')));
if(e.in)block('Intent',JSON.stringify(e.in,null,2));if(e.p)block('Policy',JSON.stringify(e.p,null,2));
block('Arguments',pretty(e.a));block(e.rt?'Response (truncated when recorded)':'Response',pretty(e.r));block('Error',e.e);
if(e.om)block('Bodies','left out of this report (size budget); mcpproxy activity show '+e.id+' prints them');
tr.appendChild(td);return tr}
function row(e){var tr=el('tr','ev st-'+e.s+(e.y==='policy_decision'||e.p?' pol':'')+(e.f&&e.f.indexOf('sensitive')>=0?' flag-sensitive':''));
tr.appendChild(el('td','mono',e.t.replace('T',' ').replace('Z','')));tr.appendChild(el('td',null,e.y));tr.appendChild(el('td',null,e.sv||''));
tr.appendChild(el('td',null,e.tl||''));tr.appendChild(el('td',null,e.s));tr.appendChild(el('td','num',e.d==null?'':Math.round(e.d)+' ms'));
tr.appendChild(el('td','mono',e.ss?e.ss.slice(0,12):''));
var notes=[];if(e.p)notes.push(e.p.decision+(e.p.reason?': '+e.p.reason:''));if(e.e)notes.push(e.e.slice(0,120));if(e.f)notes.push(e.f.join(' '));if(e.x)notes.push('detected: '+e.x.join(' '));
tr.appendChild(el('td',null,notes.join(' · ')));
tr.addEventListener('click',function(){if(open[e.id]){delete open[e.id]}else{open[e.id]=1}render()});return tr}
function render(){var pages=Math.max(1,Math.ceil(shown.length/PAGE));if(page>=pages)page=pages-1;
var frag=document.createDocumentFragment(),start=page*PAGE,end=Math.min(shown.length,start+PAGE);
for(var i=start;i<end;i++){var e=shown[i];frag.appendChild(row(e));if(open[e.id])frag.appendChild(detail(e))}
rows.textContent='';rows.appendChild(frag);
pageEl.textContent=shown.length?('Events '+(start+1)+'–'+end+' of '+shown.length+(shown.length!==all.length?' (of '+all.length+')':'')):'No events';
document.getElementById('prev').disabled=page===0;document.getElementById('next').disabled=page>=pages-1}
var timer;q.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(apply,150)});kind.addEventListener('change',apply);
document.getElementById('prev').addEventListener('click',function(){page--;render()});document.getElementById('next').addEventListener('click',function(){page++;render()});
render();
})();`

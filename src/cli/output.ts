/** Everything the CLI prints goes through here: tables, colours (only on a TTY), JSON, progress. */

type Paint = (s: string) => string

function useColour(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR) return false
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true
  return Boolean(stream.isTTY)
}

const sgr =
  (open: number, close: number): Paint =>
  (s) =>
    useColour(process.stdout) ? `\u001b[${open}m${s}\u001b[${close}m` : s

export const paint = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g

/** Display width: ANSI codes take none, emoji and East Asian wide characters take two columns. */
export function displayWidth(s: string): number {
  let w = 0
  let last = 0
  for (const ch of s.replace(ANSI, '')) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp === 0xfe0f) {
      // emoji presentation selector: the symbol before it is drawn two columns wide
      if (last === 1) w += 1
      last = 2
      continue
    }
    if (cp === 0x200d || (cp >= 0x300 && cp <= 0x36f)) continue
    last = cp >= 0x1100 && (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0x1f300 && cp <= 0x1faff)) ? 2 : 1
    w += last
  }
  return w
}

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)))
}

/** A plain column-aligned table (header row, two spaces between columns). */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [paint.bold(line(headers)), ...rows.map(line)].join('\n')
}

/** Aligned `Label:  value` lines. */
export function renderFields(fields: Array<[string, string | undefined]>): string {
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '')
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1))
  return shown.map(([k, v]) => `${pad(`${k}:`, width)} ${v}`).join('\n')
}

export function printLine(text = ''): void {
  process.stdout.write(text + '\n')
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

export function printError(message: string): void {
  const text = useColour(process.stderr) ? `\u001b[31merror:\u001b[39m ${message}` : `error: ${message}`
  process.stderr.write(text + '\n')
}

/** Progress on stderr, only when stderr is a terminal; one line rewritten in place. */
export interface Progress {
  update(text: string): void
  done(text?: string): void
}

export function createProgress(): Progress {
  const tty = Boolean(process.stderr.isTTY)
  let last = 0
  return {
    update(text) {
      if (!tty) return
      const now = Date.now()
      if (now - last < 100) return
      last = now
      process.stderr.write(`\r\u001b[2K${text}`)
    },
    done(text) {
      if (!tty) return
      process.stderr.write(`\r\u001b[2K${text ? text + '\n' : ''}`)
    },
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return ''
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
}

const two = (n: number): string => String(n).padStart(2, '0')

/** `HH:MM:SS` in local time. */
export function formatClock(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
}

/** `YYYY-MM-DD HH:MM:SS` in local time. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${formatClock(iso)}`
}

/** Clock only for today's records, date and clock for older ones. */
export function formatListTime(iso: string, now: Date = new Date()): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const today = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate()
  return today ? formatClock(iso) : formatDateTime(iso)
}

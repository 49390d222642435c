import { redactText } from '../security/redact'

/** A line as it may be shown: secrets a server prints (a token in a debug line) are masked. */
const masked = (line: string): string => redactText(line, { redactPii: false }).text

/**
 * The last N lines a server wrote to stderr (and our own notes about it), for `logs()`, which
 * REST, the CLI and the UI show: each line is redacted as it is kept.
 */
export class StderrRing {
  private readonly lines: string[] = []
  private partial = ''

  constructor(private readonly max = 500) {}

  /** Appends a chunk of output; a trailing partial line waits for its newline. */
  write(chunk: string | Buffer): void {
    const text = this.partial + chunk.toString()
    const parts = text.split(/\r?\n/)
    this.partial = parts.pop() ?? ''
    // a single line longer than 64 KiB is cut so one runaway write cannot hold the memory
    if (this.partial.length > 65_536) {
      parts.push(this.partial)
      this.partial = ''
    }
    for (const line of parts) this.push(line)
  }

  /** Adds one whole line (e.g. a note from the manager), flushing any partial line first. */
  note(line: string): void {
    if (this.partial) {
      this.push(this.partial)
      this.partial = ''
    }
    this.push(line)
  }

  /** The last `count` lines, oldest first (the partial line included). */
  tail(count = this.max): string[] {
    const all = this.partial ? [...this.lines, masked(this.partial)] : this.lines
    return count >= all.length ? [...all] : all.slice(all.length - count)
  }

  get size(): number {
    return this.lines.length + (this.partial ? 1 : 0)
  }

  private push(line: string): void {
    // masked before the cut, so a secret across the cut is masked whole
    const safe = masked(line)
    this.lines.push(safe.length > 65_536 ? safe.slice(0, 65_536) + '…' : safe)
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max)
  }
}

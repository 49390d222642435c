import { redactText } from '../security/redact'

/** A server's line as it may be shown: secrets it prints (a token in a debug line) are masked. */
export const maskLine = (line: string): string => redactText(line, { redactPii: false }).text

/**
 * The last N lines a server wrote to stderr (and our own notes about it), for `logs()`, which
 * REST, the CLI and the UI show. Lines are masked when read (rarely), not as they are written
 * (on the proxy's own thread, as often as a server likes); each line is masked once.
 */
export class StderrRing {
  private readonly lines: string[] = []
  /** how many of the oldest lines are masked already */
  private maskedUpTo = 0
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
    for (; this.maskedUpTo < this.lines.length; this.maskedUpTo++) {
      // masked before the cut, so a secret across the cut is masked whole
      const safe = maskLine(this.lines[this.maskedUpTo]!)
      this.lines[this.maskedUpTo] = safe.length > 65_536 ? safe.slice(0, 65_536) + '…' : safe
    }
    const all = this.partial ? [...this.lines, maskLine(this.partial)] : this.lines
    return count >= all.length ? [...all] : all.slice(all.length - count)
  }

  get size(): number {
    return this.lines.length + (this.partial ? 1 : 0)
  }

  private push(line: string): void {
    // kept a little past the shown length, so that a secret across the cut is still masked whole
    this.lines.push(line.length > 65_536 + 4096 ? line.slice(0, 65_536 + 4096) : line)
    if (this.lines.length > this.max) {
      const dropped = this.lines.length - this.max
      this.lines.splice(0, dropped)
      this.maskedUpTo = Math.max(0, this.maskedUpTo - dropped)
    }
  }
}

/**
 * The CSV rows of an export (layout documented at CSV_COLUMNS in export.ts), written by
 * csv-stringify with its default options. Most rows need no quoting: csv-stringify writes a row
 * whose every cell is a number, empty or a string without a comma, a double quote, CR or LF as
 * its cells joined with commas, so such a row is joined directly and every other row goes through
 * csv-stringify. Its per-cell bookkeeping was two thirds of a CSV export's time.
 */
import { stringify } from 'csv-stringify/sync'

export type CsvCell = string | number | undefined

/** The characters that make csv-stringify (default options) quote a cell. */
const QUOTED = /[",\r\n]/

/** One CSV record with its '\n', as csv-stringify writes it. */
export function csvRow(cells: readonly CsvCell[]): string {
  for (const cell of cells) {
    if (cell === undefined || typeof cell === 'number') continue
    if (typeof cell !== 'string' || QUOTED.test(cell)) return stringify([cells as CsvCell[]])
  }
  return cells.join(',') + '\n'
}

/** toISOString's last year without a sign (later years are written +YYYYYY). */
const MAX_PLAIN_YEAR_MS = 253_402_300_799_999

/**
 * `new Date(ms).toISOString()` for ascending integer times: the text up to the minute is kept
 * and reused while the times stay in that minute (converting every time was a tenth of the
 * export). Times outside years 1970..9999 are converted on their own.
 */
export function createIsoTime(): (ms: number) => string {
  let minute = -1
  let prefix = ''
  return (ms) => {
    const offset = ms - minute
    if (minute >= 0 && offset >= 0 && offset < 60_000) {
      const s = Math.floor(offset / 1000)
      const m = offset - s * 1000
      return prefix + (s < 10 ? '0' : '') + s + (m < 10 ? '.00' : m < 100 ? '.0' : '.') + m + 'Z'
    }
    const iso = new Date(ms).toISOString()
    if (Number.isInteger(ms) && ms >= 0 && ms <= MAX_PLAIN_YEAR_MS) {
      minute = ms - (ms % 60_000)
      prefix = iso.slice(0, 17)
    }
    return iso
  }
}

/**
 * Import input as importActivity takes it: a file or request body cut into items of whole lines.
 * Each item is the input up to the last line end of what has arrived, so no line is cut in two,
 * and splitting into single lines happens where lines are parsed (on the import worker when there
 * is one), not once per line on the thread that inserts.
 */
import { StringDecoder } from 'node:string_decoder'

/** Items of one or more whole lines (each but the last ends with "\n"), in order; nothing is lost or added. */
export async function* wholeLines(source: AsyncIterable<Buffer | string> | Iterable<string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  // the start of a line longer than the chunks so far, joined once its end arrives
  let pending: string[] = []
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
    const end = text.lastIndexOf('\n')
    if (end < 0) {
      if (text) pending.push(text)
      continue
    }
    pending.push(text.slice(0, end + 1))
    yield pending.join('')
    pending = end + 1 < text.length ? [text.slice(end + 1)] : []
  }
  pending.push(decoder.end())
  const rest = pending.join('')
  if (rest) yield rest
}

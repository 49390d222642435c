/**
 * Newline-delimited JSON-RPC over stdio, the cheap way: splitting a byte stream into lines, and
 * hand checks that say when the SDK's strict zod classification would accept a message (so a
 * well-formed message can skip those passes and anything odd still takes the SDK's own way).
 */
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js'

/** the SDK's stdio limit for one message */
export const MAX_LINE_BYTES = 10 * 1024 * 1024

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isIdLike = (v: unknown): boolean => typeof v === 'string' || Number.isSafeInteger(v)

/**
 * Splits a byte stream into lines (without the newline, a trailing CR dropped), across chunk
 * boundaries: the function returned takes each chunk. A line longer than maxLineBytes is dropped:
 * with `onTooLong`, it is told its size so far and the lines after it go on; without, the
 * function throws (the partial line is dropped).
 */
export function lineSplitter(onLine: (line: Buffer) => void, maxLineBytes = Infinity, onTooLong?: (bytes: number) => void): (chunk: Buffer) => void {
  let pending: Buffer[] = []
  let pendingBytes = 0
  // the rest of a line already found too long is skipped up to its end
  let skipping = false
  const tooLong = (bytes: number): void => {
    if (!onTooLong) throw new Error(`a line longer than ${maxLineBytes} bytes`)
    onTooLong(bytes)
  }
  return (chunk) => {
    let start = 0
    let nl = chunk.indexOf(10)
    while (nl !== -1) {
      let line = chunk.subarray(start, nl)
      start = nl + 1
      nl = chunk.indexOf(10, start)
      if (skipping) {
        skipping = false
        continue
      }
      if (pending.length) {
        line = Buffer.concat([...pending, line])
        pending = []
        pendingBytes = 0
      }
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1)
      if (line.length > maxLineBytes) tooLong(line.length)
      else if (line.length > 0) onLine(line)
    }
    if (start < chunk.length && !skipping) {
      pendingBytes += chunk.length - start
      if (pendingBytes > maxLineBytes) {
        const bytes = pendingBytes
        pending = []
        pendingBytes = 0
        skipping = true
        tooLong(bytes)
        return
      }
      pending.push(chunk.subarray(start))
    }
  }
}

/** Splits a byte stream into lines (without the newline), across chunk boundaries. */
export function onLines(input: NodeJS.ReadableStream, onLine: (line: Buffer) => void): void {
  input.on('data', lineSplitter(onLine))
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params'])

/**
 * True when the SDK's `isJSONRPCRequest` (a strict zod parse) would accept `m`, checked by hand.
 * Anything else goes the SDK's own way, so odd messages are treated exactly as before.
 */
export function isPlainRequest(m: unknown): m is JSONRPCRequest {
  if (!isPlainObject(m) || m.jsonrpc !== '2.0' || typeof m.method !== 'string' || !isIdLike(m.id)) return false
  for (const k in m) if (!REQUEST_KEYS.has(k)) return false
  const params = m.params
  if (params === undefined) return true
  if (!isPlainObject(params)) return false
  const meta = params._meta
  if (meta === undefined) return true
  if (!isPlainObject(meta)) return false
  if (meta.progressToken !== undefined && !isIdLike(meta.progressToken)) return false
  const task = meta['io.modelcontextprotocol/related-task']
  return task === undefined || (isPlainObject(task) && typeof task.taskId === 'string')
}

/** True when the SDK's `isJSONRPCResultResponse` (a strict zod parse) would accept `m`, checked by hand. */
export function isPlainResultResponse(m: unknown): boolean {
  if (!isPlainObject(m) || m.jsonrpc !== '2.0' || !isIdLike(m.id) || !isPlainObject(m.result)) return false
  for (const k in m) if (k !== 'jsonrpc' && k !== 'id' && k !== 'result') return false
  const meta = m.result._meta
  if (meta === undefined) return true
  if (!isPlainObject(meta)) return false
  if (meta.progressToken !== undefined && !isIdLike(meta.progressToken)) return false
  const task = meta['io.modelcontextprotocol/related-task']
  return task === undefined || (isPlainObject(task) && typeof task.taskId === 'string')
}

/**
 * True for the commonest tools/call result, text blocks only (`{ content: [{ type: 'text', text }],
 * isError? }`), which the SDK's CallToolResultSchema parses into an equal object: the parse can
 * be skipped. Anything else (other blocks, annotations, structured content, _meta) is parsed.
 */
export function isPlainTextToolResult(result: unknown): boolean {
  if (!isPlainObject(result) || !Array.isArray(result.content)) return false
  for (const k in result) if (k !== 'content' && !(k === 'isError' && typeof result.isError === 'boolean')) return false
  for (const block of result.content as unknown[]) {
    if (!isPlainObject(block) || block.type !== 'text' || typeof block.text !== 'string') return false
    for (const k in block) if (k !== 'type' && k !== 'text') return false
  }
  return true
}

/** A JSON-RPC 2.0 request, notification or response, by its shape (what either front end lets in). */
export function isJsonRpcMessage(v: unknown): v is { jsonrpc: '2.0'; id?: string | number | null; method?: string } {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false
  const m = v as Record<string, unknown>
  if (m.jsonrpc !== '2.0') return false
  if (typeof m.method === 'string') return true
  return (typeof m.id === 'string' || typeof m.id === 'number') && ('result' in m || 'error' in m)
}

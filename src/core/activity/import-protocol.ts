/** Messages between importActivity and its worker thread (import-worker.ts). */
import type { ChainHead } from './append'
import type { ParsedItems } from './import-parse'

/** Input items, numbered from 1 in the order they are posted. */
export interface ImportWorkerRequest {
  n: number
  items: string[]
  /** the chain head as last seen: the worker links records after it ahead of their insert */
  head?: ChainHead
}

export interface ImportWorkerReply {
  n: number
  parsed: ParsedItems
}

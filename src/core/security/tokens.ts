/**
 * Estimated token count of a request or response, for the activity log.
 *
 * Heuristic: one token per 4 bytes of UTF-8, rounded up. BPE tokenizers (GPT, Claude) average
 * about 4 characters per token on English prose and JSON; text in other scripts has fewer
 * characters per token but more bytes per character, so bytes keep the estimate in the same
 * range. It is an estimate for trends and budgets, not a billing figure.
 */
export const BYTES_PER_TOKEN = 4

/** Tokens for a string, or for a size already measured in bytes. */
export function estimateTokens(text: string | number): number {
  const bytes = typeof text === 'number' ? text : Buffer.byteLength(text, 'utf8')
  if (!Number.isFinite(bytes) || bytes <= 0) return 0
  return Math.ceil(bytes / BYTES_PER_TOKEN)
}

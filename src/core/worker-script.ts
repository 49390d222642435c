/**
 * A worker entry as `new Worker` takes it: a URL object for a `file:` URL given as text (the
 * constructor reads a string as a path), anything else as it is.
 */
export function workerScript(url: string | URL): string | URL {
  return typeof url === 'string' && url.startsWith('file:') ? new URL(url) : url
}

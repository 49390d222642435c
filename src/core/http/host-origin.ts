/**
 * DNS-rebinding guard: a page on evil.com that resolves to 127.0.0.1 sends `Host: evil.com`
 * and `Origin: http://evil.com`; both must name this loopback server.
 */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]']

export interface HostGuard {
  hostAllowed(host: string | undefined): boolean
  originAllowed(origin: string | undefined): boolean
}

/** `port` is the bound TCP port; `extraHosts` are further names the user bound to (e.g. a LAN address). */
export function createHostGuard(port: number, extraHosts: string[] = []): HostGuard {
  const names = new Set([...LOOPBACK_HOSTS, ...extraHosts.map((h) => h.toLowerCase())])
  const hosts = new Set([...names].map((n) => `${n}:${port}`))
  if (port === 80) for (const n of names) hosts.add(n)
  const origins = new Set([...hosts].map((h) => `http://${h}`))
  return {
    hostAllowed: (host) => host !== undefined && hosts.has(host.toLowerCase()),
    originAllowed: (origin) => origin === undefined || origins.has(origin.toLowerCase()),
  }
}

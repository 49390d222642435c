import { useSyncExternalStore } from 'react'

export type ViewName = 'dashboard' | 'activity' | 'servers' | 'review' | 'approvals' | 'add-server'

export interface Route {
  view: ViewName
  /** the path segment after the view (e.g. the server under review) */
  param?: string
  query: URLSearchParams
}

const VIEWS: readonly ViewName[] = ['dashboard', 'activity', 'servers', 'review', 'approvals', 'add-server']

/**
 * Hash routes (`#/activity?server=x`): the same build runs from file:// in Electron and under
 * /ui/ in a browser, and the hash keeps the filter state in the URL for both.
 */
export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, '')
  const [path = '', search = ''] = body.split('?', 2)
  const [view = '', ...rest] = path.split('/')
  const param = rest.length ? decodeURIComponent(rest.join('/')) : undefined
  return {
    view: (VIEWS as readonly string[]).includes(view) ? (view as ViewName) : 'dashboard',
    param,
    query: new URLSearchParams(search),
  }
}

export function routeHref(view: ViewName, param?: string, query?: URLSearchParams): string {
  const qs = query && query.toString() ? `?${query.toString()}` : ''
  return `#/${view}${param ? `/${encodeURIComponent(param)}` : ''}${qs}`
}

export function navigate(href: string, replace = false): void {
  if (replace) {
    window.history.replaceState(window.history.state, '', href)
    window.dispatchEvent(new HashChangeEvent('hashchange'))
  } else {
    window.location.hash = href.slice(1)
  }
}

const subscribe = (cb: () => void): (() => void) => {
  window.addEventListener('hashchange', cb)
  return () => window.removeEventListener('hashchange', cb)
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash)
}

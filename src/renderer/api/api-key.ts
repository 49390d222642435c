const STORAGE_KEY = 'mcpproxy.apikey'

/**
 * The key arrives once as `?apikey=` in the page URL: keep it in session storage and remove it
 * from the visible URL (and so from history, bookmarks and screenshots).
 */
export function takeApiKey(loc: Location = window.location, storage: Storage = window.sessionStorage): string | null {
  const url = new URL(loc.href)
  const fromUrl = url.searchParams.get('apikey')
  if (fromUrl) {
    storage.setItem(STORAGE_KEY, fromUrl)
    url.searchParams.delete('apikey')
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash)
    return fromUrl
  }
  return storage.getItem(STORAGE_KEY)
}

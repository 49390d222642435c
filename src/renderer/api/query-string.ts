import type { ActivityFilter } from '../../shared/activity'
import { CORE_EVENT_NAMES } from '../../shared/events'
import type { ExportKind } from './api'

/** Filter → REST query parameters (the names of `ActivityFilterSchema`); lists are comma-joined. */
export function filterToParams(filter: ActivityFilter, params = new URLSearchParams()): URLSearchParams {
  for (const [key, value] of Object.entries(filter) as Array<[string, unknown]>) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) {
      if (value.length > 0) params.set(key, value.join(','))
    } else {
      params.set(key, String(value))
    }
  }
  return params
}

/** `GET /activity`: the filter and the page. */
export function listParams(p: { filter: ActivityFilter; limit: number; offset: number; cursor?: string }): URLSearchParams {
  const params = filterToParams(p.filter)
  params.set('limit', String(p.limit))
  params.set('offset', String(p.offset))
  if (p.cursor) params.set('cursor', p.cursor)
  return params
}

/** `GET /activity/export` or `/activity/report` as a link: a plain link cannot send headers, so the key goes in the query. */
export function downloadParams(filter: ActivityFilter, kind: ExportKind, downloadToken: string): URLSearchParams {
  const params = filterToParams(filter)
  if (kind !== 'report') params.set('format', kind)
  // a one-use token, not the key: the link stays in the browser's history and downloads list
  params.set('download_token', downloadToken)
  return params
}

/** `GET /events` for EventSource (no headers either): the key, and the event names unless all of them. */
export function eventsParams(types: readonly string[], apiKey: string | null): URLSearchParams {
  const params = new URLSearchParams()
  if (apiKey) params.set('apikey', apiKey)
  if (types.length > 0 && types.length < CORE_EVENT_NAMES.length) params.set('types', types.join(','))
  return params
}

import type { ActivityFilter } from '../../shared/activity'

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

import type { ConnectionState, HealthInfo } from '../../shared/servers'

export interface HealthInput {
  enabled: boolean
  quarantined: boolean
  state: ConnectionState
  /** the connection reached `ready` at least once since it was (re)started */
  everConnected: boolean
  /** failed attempts since the last successful connect */
  failures: number
  lastError?: string
  retryInMs?: number
  toolCount: number
  changedTools: string[]
  findingCount: number
  /** stdio servers keep stderr lines the user can look at */
  hasLogs: boolean
  /** the connection was dropped because its tools could not be pinned (a full disk, or another database failure) */
  pinsFailed?: 'disk_full' | 'error'
}

/** Failed reconnects after which a server that was up is reported unhealthy rather than degraded. */
export const UNHEALTHY_AFTER_FAILURES = 3

/**
 * One health verdict per server, computed the same way for REST, the UI, the tray and the CLI.
 * Admin state wins over connection state for the summary; the level still tells whether the
 * connection works, so a quarantined server that is up is `degraded` (usable after review) and one
 * whose connection fails is `unhealthy`.
 */
export function computeHealth(h: HealthInput): HealthInfo {
  if (!h.enabled) return { level: 'degraded', admin_state: 'disabled', summary: 'Disabled', action: 'enable' }

  const failing = h.state === 'error' || ((h.state === 'backoff' || h.state === 'connecting') && h.failures > 0)
  const unauthorized = h.lastError !== undefined && /\b401\b|unauthori[sz]ed|invalid[_ ]token/i.test(h.lastError)
  const retry = h.retryInMs !== undefined && h.state === 'backoff' ? `; retrying in ${Math.ceil(h.retryInMs / 1000)} s` : ''
  const failedAction = unauthorized ? 'login' : h.hasLogs ? 'view_logs' : 'restart'

  if (h.quarantined) {
    const what = h.findingCount
      ? `${h.findingCount} tool-poisoning finding${h.findingCount === 1 ? '' : 's'} to review`
      : `${h.toolCount} tool${h.toolCount === 1 ? '' : 's'} to review`
    if (failing) {
      return { level: 'unhealthy', admin_state: 'quarantined', summary: `Quarantined; connection failed`, detail: (h.lastError ?? '') + retry, action: failedAction }
    }
    if (h.state !== 'ready') return { level: 'degraded', admin_state: 'quarantined', summary: 'Quarantined; connecting…', action: '' }
    return { level: 'degraded', admin_state: 'quarantined', summary: `Quarantined: ${what}`, action: 'approve' }
  }

  if (h.pinsFailed && h.state !== 'ready') {
    return {
      level: 'unhealthy',
      admin_state: 'enabled',
      summary: h.pinsFailed === 'disk_full' ? 'Disk full: tools cannot be pinned' : 'Tools cannot be pinned',
      detail: (h.lastError ?? '') + retry,
      action: 'restart',
    }
  }

  switch (h.state) {
    case 'ready':
      if (h.changedTools.length) {
        return {
          level: 'degraded',
          admin_state: 'enabled',
          summary: `${h.changedTools.length} tool${h.changedTools.length === 1 ? '' : 's'} changed since approval`,
          detail: `blocked until re-approved: ${h.changedTools.join(', ')}`,
          action: 'approve',
        }
      }
      return { level: 'healthy', admin_state: 'enabled', summary: `Connected (${h.toolCount} tool${h.toolCount === 1 ? '' : 's'})`, action: '' }
    case 'connecting':
    case 'backoff':
    case 'error':
      if (!failing) return { level: 'degraded', admin_state: 'enabled', summary: 'Connecting…', action: '' }
      if (h.everConnected && h.failures < UNHEALTHY_AFTER_FAILURES) {
        return { level: 'degraded', admin_state: 'enabled', summary: 'Reconnecting', detail: (h.lastError ?? '') + retry, action: failedAction }
      }
      return {
        level: 'unhealthy',
        admin_state: 'enabled',
        summary: unauthorized ? 'Authentication required' : 'Connection failed',
        detail: (h.lastError ?? '') + retry,
        action: failedAction,
      }
    case 'disconnected':
    case 'stopped':
      return { level: 'unhealthy', admin_state: 'enabled', summary: 'Not connected', detail: h.lastError, action: 'restart' }
  }
}

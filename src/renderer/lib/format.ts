import { ApiError } from '../api/api'

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.code && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message
  if (err instanceof Error) return err.message
  return String(err)
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–'
  // a relayed call can take well under a millisecond: "0 ms" would say it took no time
  if (ms < 10) return `${ms < 1 ? ms.toFixed(2) : ms.toFixed(1)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`
}

export function formatTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const today = new Date()
  const time = d.toLocaleTimeString(undefined, { hour12: false })
  if (d.toDateString() === today.toDateString()) return time
  const date = d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', ...(d.getFullYear() !== today.getFullYear() ? { year: 'numeric' } : {}) })
  return `${date} ${time}`
}

export function formatAgo(iso: string, now: number = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.floor(s / 60)}m ago`
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`
  return `${Math.floor(s / 86400)}d ago`
}

export function formatTimeLeft(expiresAt: string, now: number = Date.now()): string {
  const s = Math.round((Date.parse(expiresAt) - now) / 1000)
  if (s <= 0) return 'expired'
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s left` : `${s}s left`
}

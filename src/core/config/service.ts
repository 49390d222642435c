import { CoreError } from '../errors'
import type { ConfigService } from '../core-types'
import type { ActivityRecorder } from '../activity/types'
import { ConfigSchema, type Config } from './schema'
import type { ConfigStore } from './store'

const MASK = '********'
const SECRET_KEY = /(api[_-]?key|token|secret|password|authorization|cookie)/i

/** Masks the api key, every env value and header value, and secret-looking keys anywhere. */
export function maskConfig(config: Config): Record<string, unknown> {
  const walk = (value: unknown, key: string, parent: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v, '', parent))
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, k, key)
      return out
    }
    if (typeof value !== 'string') return value
    if (parent === 'env' || parent === 'headers' || SECRET_KEY.test(key)) return MASK
    return value
  }
  return walk(config, '', '') as Record<string, unknown>
}

/** Top-level keys whose values differ (names only: values may be secrets). */
function changedKeys(a: Config, b: Config): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].filter((k) => JSON.stringify((a as Record<string, unknown>)[k]) !== JSON.stringify((b as Record<string, unknown>)[k])).sort()
}

/** The config as the app changes it; every change, through the API or by an edit of the file, is a config_change record. */
export function createConfigService(store: ConfigStore, recorder: ActivityRecorder): ConfigService {
  store.onChange((config, previous, origin) => {
    if (origin !== 'file') return
    recorder.record({ type: 'config_change', status: 'success', metadata: { action: 'config_reloaded', actor: 'file', changed: changedKeys(previous, config) } })
  })
  store.onRejected((error) => {
    recorder.record({ type: 'config_change', status: 'error', error, metadata: { action: 'config_rejected', actor: 'file' } })
  })
  store.onRestored(() => {
    recorder.record({ type: 'config_change', status: 'success', metadata: { action: 'config_restored', actor: 'file', reason: 'the config file loads again and matches the running config' } })
  })
  return {
    current: () => store.current(),
    masked: () => maskConfig(store.current()),
    validate: (candidate) => {
      if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) {
        return { valid: false, errors: [{ key: '(root)', message: 'the config must be a JSON object' }] }
      }
      const parsed = ConfigSchema.safeParse(candidate)
      if (parsed.success) return { valid: true, errors: [] }
      return { valid: false, errors: parsed.error.issues.map((i) => ({ key: i.path.join('.') || '(root)', message: i.message })) }
    },
    apply: async (candidate, actor) => {
      if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) {
        throw new CoreError('CONFIG_INVALID', 'the config must be a JSON object')
      }
      // a copy: restoring kept secrets must not write them into the caller's object
      const next = structuredClone(candidate as Record<string, unknown>)
      // a masked key sent back unchanged keeps the running key
      const current = store.raw()
      if (next.api_key === MASK || next.api_key === undefined) next.api_key = current.api_key
      restoreMaskedServerSecrets(next, current)
      const applied = await store.replace(next)
      recorder.record({ type: 'config_change', status: 'success', metadata: { action: 'config_applied', actor: actor ?? 'api' } })
      return applied
    },
  }
}

/** What a server's secrets are sent to: its env to the command it runs, its headers to its URL. */
const DESTINATION = { env: ['command', 'args', 'cwd'], headers: ['url'] } as const

/** A destination field as compared (no args and an empty list are the same command). */
const destinationOf = (field: string, v: unknown): string => JSON.stringify(field === 'args' ? (v ?? []) : (v ?? null))

/**
 * Values sent back as the mask (from GET /config) keep the secret the running config holds, as
 * long as they would go where they went before: a masked value of a server whose URL (for
 * headers), or command, args, cwd or other env values (for env) changed is refused, so that an
 * edit can never send a secret it did not give to a new destination.
 */
function restoreMaskedServerSecrets(next: Record<string, unknown>, current: Record<string, unknown>): void {
  const servers = next.mcpServers as Record<string, Record<string, unknown>> | undefined
  const known = (current.mcpServers ?? {}) as Record<string, Record<string, unknown>>
  if (!servers || typeof servers !== 'object') return
  for (const [name, server] of Object.entries(servers)) {
    for (const field of ['env', 'headers'] as const) {
      const values = server?.[field] as Record<string, unknown> | undefined
      if (!values || typeof values !== 'object') continue
      const before = known[name]
      const old = (before?.[field] ?? {}) as Record<string, unknown>
      // the env's other values decide what the command runs too (NODE_OPTIONS, LD_PRELOAD, PATH)
      const changedEnv = field === 'env' ? Object.entries(values).find(([ek, ev]) => ev !== MASK && ev !== old[ek])?.[0] : undefined
      const moved = DESTINATION[field].find((d) => destinationOf(d, server[d]) !== destinationOf(d, before?.[d])) ?? (changedEnv ? `env ${changedEnv}` : undefined)
      for (const [k, v] of Object.entries(values)) {
        if (v !== MASK || !(k in old)) continue
        if (moved) {
          throw new CoreError(
            'CONFIG_INVALID',
            `mcpServers.${name}.${field}.${k} is masked, but the server's ${moved} changed: give the value again (a kept secret never goes to a new ${field === 'env' ? 'command' : 'URL'})`,
          )
        }
        values[k] = old[k]
      }
    }
  }
}

/**
 * What every command needs: the data dir, output mode, the config (read, never created or
 * rewritten by a read command) and the running core, if any, found through its socket, the
 * runtime file `serve` writes, or the config's listen address.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import type { StatusInfo } from '../shared/servers'
import { dataDirPaths, parseConfig, resolveDataDir, type DataDirPaths } from '../core/config/load'
import type { Config } from '../core/config/schema'
import { ApiClient, type CoreEndpoint } from './api-client'
import { CliError } from './errors'
import { readRuntimeFile } from './runtime-file'

export interface GlobalOptions {
  dataDir?: string
  json?: boolean
}

export interface ConfigOnDisk {
  config: Config
  raw: Record<string, unknown>
  apiKey?: string
}

export interface RunningCore {
  client: ApiClient
  status: StatusInfo
}

/** Worker-thread entries built beside the CLI (scripts/build-cli.mjs): recording, import and the heavy reads run off the main thread. */
export interface BuiltWorkers {
  /** the activity writer (createActivityStore's writerWorkerUrl) */
  writer: URL
  /** `wrap`'s recording thread */
  wrap: URL
  /** import's parsing thread */
  import: URL
  /** summaries, metrics and verify of a running core */
  read: URL
}

export interface CliContext {
  readonly dataDir: string
  readonly paths: DataDirPaths
  readonly json: boolean
  /** the built worker-thread entries; absent when running from sources (e.g. under vitest) */
  readonly workers?: BuiltWorkers
  /** the config file, parsed; null when the data dir has none yet. CONFIG_INVALID errors are thrown. */
  config(): ConfigOnDisk | null
  /** the core running for this data dir, or null */
  core(): Promise<RunningCore | null>
  /** the running core, or a clear error saying `what` needs one */
  requireCore(what: string): Promise<RunningCore>
}

const PROBE_TIMEOUT_MS = 2000

function sameDir(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p)
    } catch {
      return resolve(p)
    }
  }
  return real(a) === real(b)
}

/**
 * The core at `endpoint` if it runs for `dataDir`. A refused key is an error only at an address
 * this data dir's own core recorded (`own`): at the config's address it may be another data dir's
 * core (the default port is shared), which is not ours to report on.
 */
async function probe(endpoint: CoreEndpoint, dataDir: string, own: boolean): Promise<RunningCore | null> {
  const client = new ApiClient(endpoint)
  let status: StatusInfo
  try {
    status = await client.request<StatusInfo>('GET', '/status', { timeoutMs: PROBE_TIMEOUT_MS })
  } catch (err) {
    if (own && err instanceof CliError && err.status === 401) throw err
    return null
  }
  if (!status || typeof status !== 'object' || status.status !== 'running') return null
  // a core on the default port may belong to another data dir: never talk to it by mistake
  if (status.data_dir && !sameDir(status.data_dir, dataDir)) return null
  return { client, status }
}

export function createContext(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): CliContext {
  const dataDir = resolve(resolveDataDir(options.dataDir, env))
  const paths = dataDirPaths(dataDir)
  let configCache: ConfigOnDisk | null | undefined
  let corePromise: Promise<RunningCore | null> | undefined

  const config = (): ConfigOnDisk | null => {
    if (configCache !== undefined) return configCache
    if (!existsSync(paths.config)) return (configCache = null)
    const text = readFileSync(paths.config, 'utf8')
    const parsed = parseConfig(text, paths.config)
    configCache = { config: parsed, raw: JSON.parse(text) as Record<string, unknown>, apiKey: env.MCPPROXY_API_KEY || parsed.api_key }
    return configCache
  }

  const findCore = async (): Promise<RunningCore | null> => {
    let apiKey = env.MCPPROXY_API_KEY
    let listen: string | undefined
    try {
      const c = config()
      apiKey = c?.apiKey
      listen = c?.config.listen
    } catch {
      // a broken config must not hide a running core: the socket needs no key
    }
    const candidates: Array<{ endpoint: CoreEndpoint; own: boolean }> = []
    if (existsSync(paths.socket)) candidates.push({ endpoint: { kind: 'socket', address: paths.socket, socketPath: paths.socket }, own: true })
    const runtime = readRuntimeFile(paths.dataDir)
    if (runtime?.listen) candidates.push({ endpoint: { kind: 'tcp', address: runtime.listen, apiKey }, own: true })
    if (listen && listen !== runtime?.listen) candidates.push({ endpoint: { kind: 'tcp', address: listen, apiKey }, own: false })
    for (const { endpoint, own } of candidates) {
      const found = await probe(endpoint, dataDir, own)
      if (found) return found
    }
    return null
  }

  return {
    dataDir,
    paths,
    json: Boolean(options.json),
    config,
    core: () => (corePromise ??= findCore()),
    async requireCore(what) {
      const core = await (corePromise ??= findCore())
      if (!core) throw new CliError(`${what} needs a running mcpproxy core for ${dataDir} (start one with \`mcpproxy serve\` or the app)`, { code: 'NO_CORE' })
      return core
    },
  }
}

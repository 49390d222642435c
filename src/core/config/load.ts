import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { z } from 'zod'
import { CoreError, diskFullError, isDiskFull } from '../errors'
import { ConfigSchema, type Config } from './schema'

export const CONFIG_FILE = 'mcp_config.json'
export const DB_FILE = 'activity.db'
export const LOG_DIR = 'logs'
export const SOCKET_FILE = 'mcpproxy.sock'

/** `--data-dir`, else `MCPPROXY_DATA_DIR`, else `~/.mcpproxy`. */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.MCPPROXY_DATA_DIR || join(homedir(), '.mcpproxy')
}

export interface DataDirPaths {
  dataDir: string
  config: string
  db: string
  logs: string
  socket: string
}

export function dataDirPaths(dataDir: string): DataDirPaths {
  return {
    dataDir,
    config: join(dataDir, CONFIG_FILE),
    db: join(dataDir, DB_FILE),
    logs: join(dataDir, LOG_DIR),
    socket: join(dataDir, SOCKET_FILE),
  }
}

/** Formats zod issues as `key.path: problem` lines, so the user knows what to fix. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ')
}

/** Parses and validates config text; throws CONFIG_INVALID naming the key and the problem. */
export function parseConfig(text: string, source = CONFIG_FILE): Config {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    // V8 quotes a stretch of the text around the error: it may be a secret, so it is left out
    const reason = (err as Error).message.replace(/,\s*(\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '')
    throw new CoreError('CONFIG_INVALID', `${source}: not valid JSON (${reason})`)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CoreError('CONFIG_INVALID', `${source}: the top level must be a JSON object`)
  }
  const parsed = ConfigSchema.safeParse(raw)
  if (!parsed.success) {
    throw new CoreError('CONFIG_INVALID', `${source}: ${describeIssues(parsed.error)}`, {
      issues: parsed.error.issues.map((i) => ({ key: i.path.join('.'), message: i.message })),
    })
  }
  return parsed.data
}

export function generateApiKey(): string {
  return randomBytes(24).toString('base64url')
}

/** The config written on first run. */
export function defaultConfigFile(): Record<string, unknown> {
  return {
    listen: '127.0.0.1:8080',
    api_key: generateApiKey(),
    mcp_auth: true,
    tool_exposure: 'retrieve_tools',
    mcpServers: {},
    activity_retention_days: 90,
    activity_max_records: 100_000,
    activity_max_response_size: 65_536,
    activity_cleanup_interval_min: 60,
    activity_max_db_mb: 512,
  }
}

/**
 * Writes JSON atomically (temp file + rename) with mode 0600. A failed write removes its temp
 * file and leaves the file as it was; a full disk is DISK_FULL.
 */
export function writeConfigFile(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 })
    chmodSync(tmp, 0o600)
    renameSync(tmp, path)
  } catch (err) {
    try {
      rmSync(tmp, { force: true })
    } catch {
      // the write's own error is the one to report
    }
    throw isDiskFull(err) ? diskFullError(err, `${path} was left as it was and no setting changed`) : err
  }
}

/** Removes group and other permissions from a path that has any (POSIX; a path we may not change is left as it is). */
function keepPrivate(path: string, mode: number): void {
  if (process.platform === 'win32') return
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, mode)
  } catch {
    // not ours to change (another owner, a read-only file system): it stays as it is
  }
}

export interface LoadedConfig {
  config: Config
  /** the file's own JSON, for edits that must keep the user's keys and layout of values */
  raw: Record<string, unknown>
  created: boolean
  apiKey: string
}

/**
 * Loads the data dir's config, creating the dir and a default config on first run.
 * A broken file is reported, never overwritten. `MCPPROXY_API_KEY` overrides the key.
 */
export function loadConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const paths = dataDirPaths(dataDir)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 })
  let created = false
  if (!existsSync(paths.config)) {
    writeConfigFile(paths.config, defaultConfigFile())
    created = true
  }
  // the file holds the api key and the servers' secrets: a hand-made one others can read is
  // closed to them (the dir is left as it is: it may be the user's own folder)
  keepPrivate(paths.config, 0o600)
  const text = readFileSync(paths.config, 'utf8')
  const config = parseConfig(text, paths.config)
  const raw = JSON.parse(text) as Record<string, unknown>
  let apiKey = env.MCPPROXY_API_KEY || config.api_key
  if (!apiKey) {
    // a config without a key gets one added, keeping everything else the user wrote
    apiKey = generateApiKey()
    raw.api_key = apiKey
    writeConfigFile(paths.config, raw)
    config.api_key = apiKey
  }
  return { config, raw, created, apiKey }
}

/**
 * The `mcp_config.json` schema: every key in one place, snake_case, with its default.
 * Unknown top-level keys are kept (forward compatibility) but reported by `config validate`.
 */
import { z } from 'zod'
import { OperationTypeSchema } from '../../shared/activity'

const ServerBase = {
  enabled: z.boolean().default(true),
  quarantined: z.boolean().optional().describe('absent means the server starts quarantined'),
}

export const StdioServerSchema = z.object({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  ...ServerBase,
})

export const RemoteServerSchema = z.object({
  url: z.url(),
  headers: z.record(z.string(), z.string()).default({}),
  protocol: z.enum(['http', 'sse', 'auto']).default('auto'),
  ...ServerBase,
})

export const ServerConfigSchema = z.union([StdioServerSchema, RemoteServerSchema])
export type ServerConfig = z.output<typeof ServerConfigSchema>
export type StdioServerConfig = z.output<typeof StdioServerSchema>
export type RemoteServerConfig = z.output<typeof RemoteServerSchema>

export function isStdioServer(s: ServerConfig): s is StdioServerConfig {
  return 'command' in s
}

export const PolicyRuleSchema = z.object({
  server: z.string().default('*'),
  tool: z.string().default('*'),
  operation_type: OperationTypeSchema.optional(),
  sensitive: z.boolean().optional().describe('true: only tools in sensitive_tools; false: only tools not in it'),
  action: z.enum(['allow', 'deny', 'ask']),
  reason: z.string().optional(),
  name: z.string().optional(),
})
export type PolicyRule = z.output<typeof PolicyRuleSchema>

const LISTEN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

export const ConfigSchema = z
  .object({
    listen: z.string().regex(LISTEN, 'must be host:port, e.g. 127.0.0.1:8080').default('127.0.0.1:8080'),
    api_key: z.string().min(16, 'must be at least 16 characters').optional(),
    mcp_auth: z.boolean().default(true),
    tool_exposure: z.enum(['retrieve_tools', 'direct']).default('retrieve_tools'),
    call_timeout_ms: z.number().int().min(100).max(3_600_000).default(120_000),
    approval_timeout_s: z.number().int().min(1).max(86_400).default(120),
    mcpServers: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'server names use letters, digits, _ . -'), ServerConfigSchema).default({}),
    sensitive_tools: z.array(z.string()).default([]),
    write_tools: z.array(z.string()).default([]),
    policy: z.object({ rules: z.array(PolicyRuleSchema).default([]) }).default({ rules: [] }),
    intent_declaration: z.object({ required: z.boolean().default(false) }).default({ required: false }),
    redact_pii: z.boolean().default(false),
    activity_retention_days: z.number().int().min(1).max(36_500).default(90),
    activity_max_records: z.number().int().min(100).default(100_000),
    activity_max_response_size: z.number().int().min(0).default(65_536),
    activity_cleanup_interval_min: z.number().int().min(1).default(60),
    activity_max_db_mb: z.number().int().min(1).default(512),
    activity_metadata_only: z.boolean().default(false).describe('store no arguments or response bodies'),
    otel: z
      .object({
        enabled: z.boolean().default(false),
        endpoint: z.url().default('http://127.0.0.1:4318'),
        headers: z.record(z.string(), z.string()).default({}),
      })
      .default({ enabled: false, endpoint: 'http://127.0.0.1:4318', headers: {} }),
  })
  .loose()

export type Config = z.output<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

export function defaultConfig(): Config {
  return ConfigSchema.parse({})
}

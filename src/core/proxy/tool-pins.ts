import { createHash } from 'node:crypto'
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import { canonicalJson } from '../activity/record-codec'
import type { Db } from '../store/db'

/** The parts of a tool a pin covers: what the model reads and what the gates rely on. */
export interface ToolDefinition {
  name: string
  description?: string
  inputSchema?: unknown
  outputSchema?: unknown
  annotations?: unknown
}

export interface ToolPin {
  server: string
  tool: string
  hash: string
  definition: ToolDefinition
  approvedAt: string
  /** the hash of a changed definition a person refused (the pin stays; the tool stays blocked) */
  rejectedHash?: string
  rejectedAt?: string
}

/** The pinned subset of a tool, with absent fields left out. */
export function toolDefinition(tool: Tool): ToolDefinition {
  const def: ToolDefinition = { name: tool.name }
  if (tool.description !== undefined) def.description = tool.description
  if (tool.inputSchema !== undefined) def.inputSchema = tool.inputSchema
  if (tool.outputSchema !== undefined) def.outputSchema = tool.outputSchema
  if (tool.annotations !== undefined) def.annotations = tool.annotations
  return def
}

/** A pinned definition as a tool again (what clients are shown of a tool that changed since). */
export function approvedTool(def: ToolDefinition): Tool {
  const tool: Tool = { name: def.name, inputSchema: (def.inputSchema ?? { type: 'object' }) as Tool['inputSchema'] }
  if (def.description !== undefined) tool.description = def.description
  if (def.outputSchema !== undefined) tool.outputSchema = def.outputSchema as Tool['outputSchema']
  if (def.annotations !== undefined) tool.annotations = def.annotations as Tool['annotations']
  return tool
}

/** sha256 (hex) of the canonical JSON of the tool's name, description, schemas and annotations. */
export function hashTool(tool: Tool): string {
  return createHash('sha256').update(canonicalJson(toolDefinition(tool))).digest('hex')
}

/** The approved tool definitions, in the `tool_pin` table. */
export interface ToolPinStore {
  forServer(server: string): Map<string, ToolPin>
  /** pins (inserts or replaces) the given tools of a server in one transaction */
  pin(server: string, tools: Tool[], approvedAt?: string): void
  /** marks a changed definition (by its hash) as refused, keeping the pin; a new pin clears it */
  reject(server: string, tool: string, hash: string, rejectedAt?: string): void
  /** removes the pins of a server (all, or the named tools) */
  remove(server: string, tools?: string[]): number
}

interface PinRow {
  server_name: string
  tool_name: string
  hash: string
  definition: string
  approved_at: string
  rejected_hash: string | null
  rejected_at: string | null
}

export function createToolPinStore(db: Db): ToolPinStore {
  const selectServer = db.prepare<[string], PinRow>(
    'SELECT server_name, tool_name, hash, definition, approved_at, rejected_hash, rejected_at FROM tool_pin WHERE server_name = ?',
  )
  const upsert = db.prepare<[string, string, string, string, string]>(
    `INSERT INTO tool_pin (server_name, tool_name, hash, definition, approved_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (server_name, tool_name) DO UPDATE SET hash = excluded.hash, definition = excluded.definition, approved_at = excluded.approved_at,
       rejected_hash = NULL, rejected_at = NULL`,
  )
  const setRejected = db.prepare<[string, string, string, string]>(
    'UPDATE tool_pin SET rejected_hash = ?, rejected_at = ? WHERE server_name = ? AND tool_name = ?',
  )
  const deleteServer = db.prepare<[string]>('DELETE FROM tool_pin WHERE server_name = ?')
  const deleteTool = db.prepare<[string, string]>('DELETE FROM tool_pin WHERE server_name = ? AND tool_name = ?')

  const pinMany = db.transaction((server: string, tools: Tool[], at: string) => {
    for (const tool of tools) upsert.run(server, tool.name, hashTool(tool), JSON.stringify(toolDefinition(tool)), at)
  })
  const removeMany = db.transaction((server: string, names: string[]) => {
    let n = 0
    for (const name of names) n += deleteTool.run(server, name).changes
    return n
  })

  return {
    forServer(server) {
      const pins = new Map<string, ToolPin>()
      for (const row of selectServer.all(server)) {
        pins.set(row.tool_name, {
          server: row.server_name,
          tool: row.tool_name,
          hash: row.hash,
          definition: JSON.parse(row.definition) as ToolDefinition,
          approvedAt: row.approved_at,
          ...(row.rejected_hash ? { rejectedHash: row.rejected_hash, rejectedAt: row.rejected_at ?? undefined } : {}),
        })
      }
      return pins
    },
    pin(server, tools, approvedAt = new Date().toISOString()) {
      if (tools.length) pinMany(server, tools, approvedAt)
    },
    reject(server, tool, hash, rejectedAt = new Date().toISOString()) {
      setRejected.run(hash, rejectedAt, server, tool)
    },
    remove(server, tools) {
      return tools ? removeMany(server, tools) : deleteServer.run(server).changes
    },
  }
}

/**
 * Contracts between the upstream manager, the aggregated MCP front ends, the gates and the
 * services REST/IPC/CLI call. createCore() wires the implementations together.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CallToolResult, GetPromptResult, ReadResourceResult, Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js'
import type { ClientInfo, IntentInfo } from '../../shared/activity'
import type {
  AddServerInput,
  ApprovalDecision,
  ApprovalInfo,
  ServerInfo,
  SessionInfo,
  ToolChangeInfo,
  ToolInfo,
} from '../../shared/servers'

/** Joins a server's name and a tool's or prompt's name on the aggregated server: `<server>__<name>`. */
export const DIRECT_SEPARATOR = '__'

/** One upstream tool as the manager knows it. */
export interface UpstreamTool {
  server: string
  tool: Tool
  /** sha256 of the canonical definition (name, description, inputSchema, outputSchema, annotations) */
  hash: string
  pinState: 'approved' | 'changed' | 'new'
  /**
   * What clients are shown of the tool (tools/list, retrieve_tools): its approved definition
   * while it has changed since (a rug pull's new text never reaches the model before a person
   * approves it), else the tool as it is (also when absent)
   */
  listed?: Tool
}

/** The tool as clients are shown it: see UpstreamTool.listed. */
export const listedTool = (t: UpstreamTool): Tool => t.listed ?? t.tool

export interface CallOptions {
  timeoutMs: number
  signal?: AbortSignal
  /** forwarded as the upstream request's `_meta` (traceparent, progressToken) */
  meta?: Record<string, unknown>
}

/** Owns the upstream connections: lifecycle, health, reconnects, the tool catalogue and pins. */
export interface UpstreamManager {
  start(): Promise<void>
  stop(): Promise<void>
  list(): ServerInfo[]
  get(name: string): ServerInfo | undefined
  /** whether a server is quarantined (undefined: no such server), without building its ServerInfo (the gates ask on every call) */
  quarantined(name: string): boolean | undefined
  /** adds to config (quarantined unless input.quarantined === false) and connects */
  add(input: AddServerInput, actor?: string): Promise<ServerInfo>
  remove(name: string, actor?: string): Promise<void>
  enable(name: string, actor?: string): Promise<void>
  disable(name: string, actor?: string): Promise<void>
  restart(name: string, actor?: string): Promise<void>
  setQuarantined(name: string, quarantined: boolean, actor?: string): Promise<void>
  /** approves the current definitions (all, or the named tools) of a server: pins their hashes */
  approveTools(name: string, tools?: string[], actor?: string): Promise<string[]>
  /** refuses the current (changed) definitions of the named tools: their pins stay, they stay blocked */
  rejectToolChanges(name: string, tools: string[], actor?: string): Promise<string[]>
  pendingToolChanges(name?: string): ToolChangeInfo[]
  tools(name?: string): UpstreamTool[]
  logs(name: string, lines?: number): string[]
  callTool(server: string, tool: string, args: Record<string, unknown>, options: CallOptions): Promise<CallToolResult>
  listPrompts(): Array<{ server: string; prompt: Prompt }>
  getPrompt(server: string, name: string, args: Record<string, string> | undefined, options: CallOptions): Promise<GetPromptResult>
  listResources(): Array<{ server: string; resource: Resource }>
  /** the upstreams' resource templates */
  listResourceTemplates(): Array<{ server: string; template: ResourceTemplate }>
  readResource(server: string, uri: string, options: CallOptions): Promise<ReadResourceResult>
  /** re-reads `mcpServers` after a config reload: connects new, drops removed, restarts changed */
  applyConfig(): Promise<void>
  /** resolves once every enabled server finished its first connection attempt, or after timeoutMs */
  ready?(timeoutMs?: number): Promise<void>
}

export interface ToolSearch {
  search(query: string, limit: number): ToolInfo[]
}

export interface SessionService {
  list(): SessionInfo[]
  get(id: string): SessionInfo | undefined
}

export interface ApprovalService {
  list(): ApprovalInfo[]
  /** resolves a pending approval; NOT_FOUND when absent or already decided */
  decide(id: string, decision: ApprovalDecision, actor?: string): ApprovalInfo
}

/** Who is calling: set per session by the front end. */
export interface CallerContext {
  sessionId: string
  transport: 'http' | 'stdio' | 'wrap'
  client: ClientInfo
}

export interface GateInput {
  caller: CallerContext
  server: string
  tool: string
  args: Record<string, unknown>
  intent?: IntentInfo
}

/** The aggregated MCP server front ends. */
export interface McpFrontEnd {
  /** handles POST/GET/DELETE /mcp (streamable HTTP); auth and Host/Origin are checked before */
  handleHttp(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void>
  /** serves the aggregated server over this process's stdin/stdout until the client closes */
  serveStdio(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, client?: ClientInfo): Promise<void>
  close(): Promise<void>
}

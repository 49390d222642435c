import MiniSearch from 'minisearch'
import type { ToolInfo } from '../../shared/servers'
import type { EventBus } from '../events/bus'
import { listedTool, type ToolSearch, type UpstreamManager, type UpstreamTool } from './types'

interface Doc {
  id: string
  server: string
  tool: string
  /** the tool name split on _ - . and camelCase, so `get_file_contents` matches "file" */
  words: string
  description: string
}

/**
 * A tool as REST, IPC and retrieve_tools give it: as clients are shown it (its approved
 * definition while it changed since), or as it is (`asIs`: for the people who review the change).
 */
export function toToolInfo(t: UpstreamTool, score?: number, asIs = false): ToolInfo {
  const tool = asIs ? t.tool : listedTool(t)
  return {
    name: `${t.server}:${tool.name}`,
    server: t.server,
    tool: tool.name,
    description: tool.description,
    input_schema: tool.inputSchema as Record<string, unknown>,
    output_schema: tool.outputSchema as Record<string, unknown> | undefined,
    annotations: tool.annotations,
    pin_state: t.pinState,
    score,
  }
}

function words(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[_\-.\s/:]+/)
    .join(' ')
}

export interface ToolSearchIndex extends ToolSearch {
  close(): void
}

/**
 * BM25 search (MiniSearch) over tool names and descriptions of every upstream. The index is
 * rebuilt lazily on the first search after the catalogue changed.
 */
export function createToolSearch(upstreams: UpstreamManager, bus: EventBus): ToolSearchIndex {
  let index: MiniSearch<Doc> | null = null
  let byId = new Map<string, UpstreamTool>()
  const invalidate = (): void => {
    index = null
  }
  const offs = [bus.on('servers.changed', invalidate), bus.on('tools.indexed', invalidate)]

  const build = (): MiniSearch<Doc> => {
    const ms = new MiniSearch<Doc>({
      fields: ['tool', 'words', 'server', 'description'],
      storeFields: [],
      searchOptions: { boost: { tool: 3, words: 2, server: 1.5 }, prefix: true, fuzzy: 0.2, combineWith: 'OR' },
    })
    byId = new Map()
    const docs: Doc[] = []
    for (const t of upstreams.tools()) {
      const id = `${t.server}:${t.tool.name}`
      if (byId.has(id)) continue
      byId.set(id, t)
      docs.push({ id, server: t.server, tool: t.tool.name, words: words(t.tool.name), description: listedTool(t).description ?? '' })
    }
    ms.addAll(docs)
    return ms
  }

  return {
    search(query, limit) {
      index ??= build()
      const q = query.trim()
      if (!q) return [...byId.values()].slice(0, limit).map((t) => toToolInfo(t))
      return index
        .search(q)
        .slice(0, limit)
        .flatMap((r) => {
          const t = byId.get(String(r.id))
          return t ? [toToolInfo(t, Math.round(r.score * 1000) / 1000)] : []
        })
    },
    close() {
      for (const off of offs) off()
    },
  }
}

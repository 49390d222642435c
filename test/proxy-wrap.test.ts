import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_ACTIVITY_SETTINGS } from '../src/core/activity/types'
import { silentLogger, type Logger } from '../src/core/logger'
import { MAX_LINE_BYTES } from '../src/core/proxy/json-lines'
import { runWrap, type InThreadRecording, type WorkerRecording, type WrapOptions } from '../src/core/proxy/wrap'
import { EVERYTHING, tempStore } from './proxy-helpers'

let buildDir: string
let workerUrl: URL
beforeAll(async () => {
  // the recording thread runs JavaScript: build its entry as scripts/build-cli.mjs does
  mkdirSync(join(process.cwd(), '.tmp'), { recursive: true })
  buildDir = mkdtempSync(join(process.cwd(), '.tmp', 'wrap-worker-build-'))
  const out = join(buildDir, 'wrap-worker.mjs')
  await build({ entryPoints: ['src/core/proxy/wrap-worker.ts'], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' })
  workerUrl = pathToFileURL(out)
}, 60_000)
afterAll(() => rmSync(buildDir, { recursive: true, force: true }))

type Store = ReturnType<typeof tempStore>
/** Where a test's wrap records: the store's writer on this thread, or the recording thread writing to the store's file. */
const RECORDINGS: Array<[string, (store: Store, url?: URL, logger?: Logger) => { recording: InThreadRecording | WorkerRecording; fellBack: () => boolean }]> = [
  ['on this thread', (store) => ({ recording: { recorder: store.writer, db: store.db }, fellBack: () => false })],
  [
    'on its recording thread',
    (store, url = workerUrl) => {
      let fellBack = false
      const recording: WorkerRecording = {
        workerUrl: url,
        file: store.db.name,
        settings: DEFAULT_ACTIVITY_SETTINGS,
        fallback: () => {
          fellBack = true
          return { recorder: store.writer, db: store.db }
        },
      }
      return { recording, fellBack: () => fellBack }
    },
  ],
]

const LINES = [
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'wrap-client', version: '4.5' } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 2, method: 'tools/list' },
  { jsonrpc: '2.0', id: 'c-3', method: 'tools/call', params: { name: 'echo', arguments: { message: 'wrapped https://example.org/a' } } },
  { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'get-sum', arguments: { a: 'x' } } },
  { jsonrpc: '2.0', id: 5, method: 'no/such/method' },
].map((m) => JSON.stringify(m) + '\n')

/** Feeds the lines one by one, each after the previous answer, and collects stdout by id. */
async function drive(stdin: PassThrough, stdout: NodeJS.ReadableStream): Promise<Map<string, string>> {
  const byId = new Map<string, string>()
  let buffer = ''
  let waiting: { id: string; resolve: () => void } | null = null
  stdout.setEncoding('utf8')
  stdout.on('data', (text: string) => {
    buffer += text
    let nl = buffer.indexOf('\n')
    while (nl !== -1) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      const msg = JSON.parse(line) as { id?: unknown }
      if (msg.id !== undefined) byId.set(String(msg.id), line)
      if (waiting && String(msg.id) === waiting.id) waiting.resolve()
      nl = buffer.indexOf('\n')
    }
  })
  for (const line of LINES) {
    const id = (JSON.parse(line) as { id?: unknown }).id
    if (id === undefined) {
      stdin.write(line)
      continue
    }
    await new Promise<void>((resolve) => {
      waiting = { id: String(id), resolve }
      stdin.write(line)
    })
  }
  stdin.end()
  return byId
}

describe.each(RECORDINGS)('wrap recording %s: a transparent stdio proxy for one server', (_label, recordingFor) => {
  it('relays answers byte for byte, records calls, and exits with the server', async () => {
    // the same exchange straight to the server, for the reference bytes
    const direct = spawn(process.execPath, [EVERYTHING, 'stdio'], { stdio: ['pipe', 'pipe', 'ignore'] })
    const directStdin = new PassThrough()
    directStdin.pipe(direct.stdin)
    const reference = await drive(directStdin, direct.stdout)

    const store = tempStore()
    const { recording, fellBack } = recordingFor(store)
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const exit = runWrap({
      command: process.execPath,
      args: [EVERYTHING, 'stdio'],
      sensitiveTools: ['get-sum'],
      writeTools: ['echo'],
      recording,
      logger: silentLogger,
      stdin,
      stdout,
      stderr,
    })
    const wrapped = await drive(stdin, stdout)
    expect(await exit).toBe(0)

    expect(wrapped.get('2')).toBe(reference.get('2'))
    expect(wrapped.get('c-3')).toBe(reference.get('c-3'))
    expect(wrapped.get('5')).toBe(reference.get('5'))

    const calls = await store.records('tool_call')
    expect(calls).toHaveLength(2)
    const echo = calls.find((c) => c.tool_name === 'echo')!
    expect(echo).toMatchObject({
      status: 'success',
      server_name: 'mcp-servers/everything',
      request_id: 'c-3',
      client: { name: 'wrap-client', version: '4.5', pid: process.ppid },
      arguments: { message: 'wrapped https://example.org/a' },
      request_bytes: Buffer.byteLength(JSON.stringify({ message: 'wrapped https://example.org/a' })),
      response_bytes: Buffer.byteLength(JSON.stringify((JSON.parse(reference.get('c-3')!) as { result: unknown }).result)),
      entities: ['https://example.org/a'],
    })
    expect(echo.flags).toContain('write')
    expect(echo.duration_ms).toBeGreaterThan(0)
    expect(echo.trace_id).toMatch(/^[0-9a-f]{32}$/)
    const sum = calls.find((c) => c.tool_name === 'get-sum')!
    expect(sum.status).toBe('error')
    expect(sum.flags).toContain('sensitive')
    expect(sum.session_id).toBe(echo.session_id)
    // every other message is in the log as well, in the session of the calls
    const messages = await store.records('mcp_message')
    const byMethod = new Map(messages.map((m) => [m.metadata?.method, m]))
    expect([...byMethod.keys()]).toEqual(expect.arrayContaining(['initialize', 'no/such/method', 'notifications/initialized', 'tools/list']))
    // what the server sent of its own accord (server-everything announces its tool list)
    const fromServer = messages.filter((m) => m.metadata?.direction === 'server_to_client').map((m) => m.metadata?.method)
    expect(fromServer).toEqual(expect.arrayContaining(['notifications/tools/list_changed']))
    expect(messages).toHaveLength(4 + fromServer.length)
    expect(byMethod.get('initialize')).toMatchObject({ status: 'success', server_name: 'mcp-servers/everything', request_id: '1', session_id: echo.session_id, response: { serverInfo: { name: 'mcp-servers/everything' } } })
    expect(byMethod.get('notifications/initialized')).toMatchObject({ status: 'success', metadata: { direction: 'client_to_server', kind: 'notification' } })
    expect((byMethod.get('tools/list')!.response as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toContain('echo')
    expect(byMethod.get('no/such/method')).toMatchObject({ status: 'error', error: expect.stringMatching(/not found/i) })
    const session = store.db.prepare('SELECT * FROM session WHERE id = ?').get(echo.session_id) as Record<string, unknown>
    expect(session).toMatchObject({ transport: 'wrap', client_name: 'wrap-client', client_version: '4.5', client_pid: process.ppid, call_count: 2 })
    expect(session.ended_at).toEqual(expect.any(String))
    // the session's start and end are in the log, the end with the server's exit code
    expect(await store.records('system_start')).toEqual([expect.objectContaining({ session_id: echo.session_id, metadata: expect.objectContaining({ transport: 'wrap', command: [process.execPath, EVERYTHING, 'stdio'] }) })])
    expect(await store.records('system_stop')).toEqual([expect.objectContaining({ status: 'success', session_id: echo.session_id, metadata: expect.objectContaining({ transport: 'wrap', exit_code: 0 }) })])
    // server-everything's own tools carry nothing the poisoning scan flags
    expect(await store.records('tool_change')).toEqual([])
    expect(fellBack()).toBe(false)
    await store.close()
  })

  it('reports a server that cannot start with exit code 127', async () => {
    const store = tempStore()
    const stdin = new PassThrough()
    const code = await runWrap({
      command: '/nonexistent/mcp-server',
      args: [],
      sensitiveTools: [],
      writeTools: [],
      recording: recordingFor(store).recording,
      logger: silentLogger,
      stdin,
      stdout: new PassThrough(),
    })
    expect(code).toBe(127)
    await store.close()
  })

  it('passes the exit code of a server that dies, and fails its call in flight', async () => {
    const store = tempStore()
    const stdin = new PassThrough()
    const script = 'process.stdin.once("data", () => process.exit(3))'
    const exit = runWrap({ command: process.execPath, args: ['-e', script], sensitiveTools: [], writeTools: [], recording: recordingFor(store).recording, logger: silentLogger, stdin, stdout: new PassThrough() })
    stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: {} } }) + '\n')
    expect(await exit).toBe(3)
    expect((await store.records('tool_call'))[0]).toMatchObject({ status: 'error', error: 'the server exited (code 3) before answering' })
    await store.close()
  })

  it('when the client stops reading (EPIPE), ends the server, records what it still answered, and exits with its code', async () => {
    const store = tempStore()
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    // answers a call after a moment; exits at its stdin's end
    const script =
      'require("readline").createInterface({ input: process.stdin }).on("line", (l) => { const { id } = JSON.parse(l); setTimeout(() => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text: "late" }] } }) + "\\n"), 50) }).on("close", () => setTimeout(() => process.exit(4), 150))'
    const exit = runWrap({ command: process.execPath, args: ['-e', script], sensitiveTools: [], writeTools: [], recording: recordingFor(store).recording, logger: silentLogger, stdin, stdout })
    stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow', arguments: {} } }) + '\n')
    await new Promise((r) => setTimeout(r, 10))
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    // what the client sends now reaches nobody: neither relayed nor recorded
    stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'unsent', arguments: {} } }) + '\n')
    expect(await exit).toBe(4)
    const calls = await store.records('tool_call')
    expect(calls.map((c) => [c.tool_name, c.status])).toEqual([['slow', 'success']])
    await store.close()
  })

  it('a server that ignores the end of its input is sent SIGTERM once its client went away', async () => {
    const store = tempStore()
    const stdout = new PassThrough()
    const script = 'process.stdin.resume(); process.stdin.on("end", () => {}); setInterval(() => {}, 1000)'
    const exit = runWrap({ command: process.execPath, args: ['-e', script], sensitiveTools: [], writeTools: [], recording: recordingFor(store).recording, logger: silentLogger, stdin: new PassThrough(), stdout })
    await new Promise((r) => setTimeout(r, 200))
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    expect(await exit).toBe(143)
    await store.close()
  }, 15_000)

  it('relays garbage and a line over the recording limit unchanged both ways, says so in the log, and records the calls around them', async () => {
    const store = tempStore()
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (msg) => void warnings.push(msg), child: () => logger }
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    // a server that writes a line of garbage before each answer, and answers every request with its id
    const script =
      'require("readline").createInterface({ input: process.stdin }).on("line", (l) => { let id; try { id = JSON.parse(l).id } catch { return } ' +
      'process.stdout.write("garbage from the server\\n" + JSON.stringify({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text: "ok " + id }] } }) + "\\n") })'
    const exit = runWrap({ command: process.execPath, args: ['-e', script], sensitiveTools: [], writeTools: [], recording: recordingFor(store, undefined, logger).recording, logger, stdin, stdout })
    let received = ''
    stdout.setEncoding('utf8').on('data', (d: string) => (received += d))
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 'huge', method: 'tools/call', params: { name: 'big', arguments: { pad: 'p'.repeat(MAX_LINE_BYTES) } } })
    const call = (id: number): string => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: `t${id}`, arguments: {} } }) + '\n'
    stdin.write('not json from the client\n' + call(1))
    stdin.write(huge + '\n')
    stdin.write(call(2))
    const until = async (text: string): Promise<void> => {
      while (!received.includes(text)) await new Promise((r) => setTimeout(r, 20))
    }
    await until('"ok 2"')
    stdin.end()
    expect(await exit).toBe(0)
    // the server's garbage reached the client as it was, three times (once per answered line)
    expect(received.split('\n').filter((l) => l === 'garbage from the server')).toHaveLength(3)
    expect(received).toContain('"ok huge"')
    expect(warnings).toEqual(expect.arrayContaining(['client sent a line that is not JSON', 'server wrote a line that is not JSON', 'a line too long to record']))
    // the calls on either side of the long line are recorded; the long one is not
    const calls = await store.records('tool_call')
    expect(calls.map((c) => c.tool_name).sort()).toEqual(['t1', 't2'])
    expect(calls.every((c) => c.status === 'success')).toBe(true)
    await store.close()
  }, 30_000)

  it('records a call unanswered within callTimeoutMs as timeout, and relays its late answer unchanged', async () => {
    const store = tempStore()
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    // answers each line after 400 ms, exits when its stdin ends
    const script =
      'let n = 0; require("readline").createInterface({ input: process.stdin }).on("line", (l) => { n++; const { id } = JSON.parse(l); ' +
      'setTimeout(() => { process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text: "late" }] } }) + "\\n"); if (--n === 0 && ended) process.exit(0) }, 400) }).on("close", () => { ended = true; if (n === 0) process.exit(0) }); let ended = false'
    const exit = runWrap({ command: process.execPath, args: ['-e', script], sensitiveTools: [], writeTools: [], callTimeoutMs: 150, recording: recordingFor(store).recording, logger: silentLogger, stdin, stdout })
    const answer = new Promise<string>((resolve) => stdout.once('data', (d: Buffer) => resolve(d.toString())))
    stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'slow', arguments: {} } }) + '\n')
    expect(JSON.parse(await answer)).toMatchObject({ id: 9, result: { content: [{ text: 'late' }] } })
    stdin.end()
    expect(await exit).toBe(0)
    expect(await store.records('tool_call')).toMatchObject([{ tool_name: 'slow', status: 'timeout', error: 'no answer within 150 ms', duration_ms: 150 }])
    await store.close()
  })
})

/**
 * A client's side of a wrap: `send` writes each message and waits for the answer with its id
 * (notifications are just sent); `until` waits for a notification from the server.
 */
function talk(stdin: PassThrough, stdout: PassThrough): { send(messages: object[]): Promise<void>; until(method: string): Promise<void> } {
  let buffer = ''
  const seen = new Set<string>()
  let wake: (() => void) | null = null
  stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d
    let nl
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const m = JSON.parse(buffer.slice(0, nl)) as { id?: unknown; method?: string }
      buffer = buffer.slice(nl + 1)
      if (m.id !== undefined) seen.add(`id:${String(m.id)}`)
      else if (m.method) seen.add(`method:${m.method}`)
      wake?.()
    }
  })
  const until = async (key: string): Promise<void> => {
    while (!seen.has(key)) await new Promise<void>((r) => (wake = r))
  }
  return {
    async send(messages) {
      for (const m of messages) {
        stdin.write(JSON.stringify({ jsonrpc: '2.0', ...m }) + '\n')
        const id = (m as { id?: unknown }).id
        if (id !== undefined) await until(`id:${String(id)}`)
      }
    },
    until: (method) => until(`method:${method}`),
  }
}

const INIT = { id: 'i', method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'wrap-client', version: '1' } } }

describe.each(RECORDINGS)('wrap recording %s: the tools a server lists', (_label, recordingFor) => {
  it('a rug pull during the session is a tool_change with both definitions; a new tool is added', async () => {
    const store = tempStore()
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const exit = runWrap({ command: process.execPath, args: [join(__dirname, 'fixtures/rugpull-server.mjs')], sensitiveTools: [], writeTools: [], recording: recordingFor(store).recording, logger: silentLogger, stdin, stdout })
    const client = talk(stdin, stdout)
    await client.send([INIT, { method: 'notifications/initialized' }, { id: 1, method: 'tools/list' }, { id: 2, method: 'tools/call', params: { name: 'get_weather', arguments: { city: 'Oslo' } } }])
    // the server changes its tools after the first call, and says so
    await client.until('notifications/tools/list_changed')
    await client.send([{ id: 3, method: 'tools/list' }])
    stdin.end()
    expect(await exit).toBe(0)
    const changes = await store.records('tool_change')
    const changed = changes.find((c) => c.metadata?.action === 'changed')!
    expect(changed).toMatchObject({ server_name: 'rugpull-server', tool_name: 'get_weather', flags: ['rug_pull'], status: 'success' })
    expect(changed.metadata).toMatchObject({
      transport: 'wrap',
      old_definition: { description: 'Gets the weather for a city.' },
      new_definition: { description: 'Gets the weather for a city, with an optional context.' },
    })
    expect(changed.metadata!.old_hash).not.toBe(changed.metadata!.new_hash)
    expect(changes.filter((c) => c.metadata?.action === 'added').map((c) => c.tool_name)).toEqual(['get_forecast'])
    // the unchanged tool and the first listing leave no record; nothing was removed
    expect(changes.map((c) => `${c.metadata?.action}:${c.tool_name}`).sort()).toEqual(['added:get_forecast', 'changed:get_weather'])
    // every record of the wrap is in the one session
    const [call] = await store.records('tool_call')
    expect(changes.every((c) => c.session_id === call!.session_id)).toBe(true)
    await store.close()
  })

  it('poisoning findings in a listed tool are recorded once per definition; clean tools leave none', async () => {
    const store = tempStore()
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const exit = runWrap({ command: process.execPath, args: [join(__dirname, 'fixtures/poisoned-server.mjs')], sensitiveTools: [], writeTools: [], recording: recordingFor(store).recording, logger: silentLogger, stdin, stdout })
    await talk(stdin, stdout).send([INIT, { method: 'notifications/initialized' }, { id: 1, method: 'tools/list' }, { id: 2, method: 'tools/list' }])
    stdin.end()
    expect(await exit).toBe(0)
    const changes = await store.records('tool_change')
    expect(changes).toHaveLength(1)
    expect(changes[0]).toMatchObject({ tool_name: 'add', server_name: 'poisoned-server', flags: ['tool_poisoning'], metadata: { action: 'poisoning_findings', transport: 'wrap' } })
    expect(changes[0]!.detection_types).toEqual(expect.arrayContaining(['hidden_unicode']))
    expect((changes[0]!.metadata!.findings as Array<{ tool: string }>).every((f) => f.tool === 'add')).toBe(true)
    await store.close()
  })
})

describe('wrap with a recording thread that fails', () => {
  /** A recording thread that throws as it starts, a logger keeping the errors, and a wrap of server-everything driven through LINES. */
  async function wrapWithBrokenThread(recordingFor: (brokenUrl: URL, dir: string) => WrapOptions['recording']): Promise<{ code: number; answers: Map<string, string>; errors: string[] }> {
    const dir = mkdtempSync(join(process.cwd(), '.tmp', 'wrap-broken-'))
    try {
      const broken = join(dir, 'broken.mjs')
      writeFileSync(broken, "throw new Error('no recording thread today')\n")
      const errors: string[] = []
      const logger: Logger = { ...silentLogger, error: (msg) => void errors.push(msg), child: () => logger }
      const stdin = new PassThrough()
      const stdout = new PassThrough()
      const recording = recordingFor(pathToFileURL(broken), dir)
      const exit = runWrap({ command: process.execPath, args: [EVERYTHING, 'stdio'], sensitiveTools: [], writeTools: [], recording, logger, stdin, stdout, stderr: new PassThrough() })
      const answers = await drive(stdin, stdout)
      return { code: await exit, answers, errors }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  it('records on this thread instead, says so in the log, and loses none of the calls', async () => {
    const store = tempStore()
    let fellBack = () => false
    const { code, answers, errors } = await wrapWithBrokenThread((url) => {
      const r = RECORDINGS[1]![1](store, url)
      fellBack = r.fellBack
      return r.recording
    })
    expect(code).toBe(0)
    expect(JSON.parse(answers.get('c-3')!)).toMatchObject({ result: { content: [{ text: 'Echo: wrapped https://example.org/a' }] } })
    expect(fellBack()).toBe(true)
    expect(errors.some((m) => m.includes('recording thread failed'))).toBe(true)
    expect((await store.records('tool_call')).map((r) => r.tool_name).sort()).toEqual(['echo', 'get-sum'])
    // the session's start on this thread says why it is here
    const starts = await store.records('system_start')
    expect(starts[0]!.metadata).toMatchObject({ transport: 'wrap', recording: 'moved to the relay thread: the recording thread failed' })
    expect((await store.records('system_stop')).map((r) => r.metadata?.exit_code)).toEqual([0])
    await store.close()
  })

  it('keeps relaying when it cannot record on this thread either, and says so', async () => {
    const { code, answers, errors } = await wrapWithBrokenThread((url, dir) => ({
      workerUrl: url,
      file: join(dir, 'activity.db'),
      settings: DEFAULT_ACTIVITY_SETTINGS,
      fallback: () => {
        throw new Error('the disk is gone')
      },
    }))
    expect(code).toBe(0)
    expect(JSON.parse(answers.get('c-3')!)).toMatchObject({ result: { content: [{ text: 'Echo: wrapped https://example.org/a' }] } })
    expect(errors).toContain('cannot record on this thread either; relaying without recording')
  })
})

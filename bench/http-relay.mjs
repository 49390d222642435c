// The floor for an HTTP MCP proxy in its own process: POST /mcp bodies go to the server's stdin
// as they are (ids rewritten per session so that clients never share one), answers go back as
// JSON; no validation, no gates, no recording (bench/proxy.ts measures it beside ours).
//   node bench/http-relay.mjs <port> -- CMD ARGS...
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'

const [port, sep, command, ...args] = process.argv.slice(2)
if (sep !== '--' || !command) throw new Error('usage: http-relay.mjs <port> -- CMD ARGS...')
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
const waiting = new Map()
let nextId = 1
let pending = ''
child.stdout.on('data', (chunk) => {
  pending += chunk
  let nl
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl)
    pending = pending.slice(nl + 1)
    const m = JSON.parse(line)
    const w = waiting.get(m.id)
    if (!w) continue
    waiting.delete(m.id)
    m.id = w.id
    const body = JSON.stringify(m)
    w.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'mcp-session-id': w.sid })
    w.res.end(body)
  }
})
createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const sid = req.headers['mcp-session-id'] ?? randomUUID()
    if (req.method !== 'POST') return res.writeHead(405).end()
    const m = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    if (m.id === undefined) {
      child.stdin.write(JSON.stringify(m) + '\n')
      return res.writeHead(202, { 'mcp-session-id': sid }).end()
    }
    const id = nextId++
    waiting.set(id, { id: m.id, res, sid })
    child.stdin.write(JSON.stringify({ ...m, id }) + '\n')
  })
}).listen(Number(port), '127.0.0.1')

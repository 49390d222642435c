// The floor for any stdio proxy in its own process: a bare byte relay to the server, no parsing,
// no recording (bench/proxy.ts measures it beside ours).
import { spawn } from 'node:child_process'

const [command, ...args] = process.argv.slice(2)
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
process.stdin.pipe(child.stdin)
child.stdout.pipe(process.stdout)
child.on('exit', (code) => process.exit(code ?? 1))

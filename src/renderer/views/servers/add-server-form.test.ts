import { describe, expect, it } from 'vitest'
import { parseEnv, splitArgs } from './add-server-form'

describe('add server form parsing', () => {
  it('splits a command line honouring quotes', () => {
    expect(splitArgs(`npx -y "@scope/pkg" '/tmp/my dir'`)).toEqual(['npx', '-y', '@scope/pkg', '/tmp/my dir'])
  })
  it('parses KEY=value lines and names a bad line', () => {
    expect(parseEnv('A=1\n\nB = x=y\n')).toEqual({ env: { A: '1', B: ' x=y' } })
    expect(parseEnv('A=1\noops')).toEqual({ error: 'Environment line "oops" is not KEY=value' })
  })
})

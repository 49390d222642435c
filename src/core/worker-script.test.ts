import { describe, expect, it } from 'vitest'
import { workerScript } from './worker-script'

describe('workerScript', () => {
  it('makes a file: URL given as text a URL, and leaves a path or a URL as it is', () => {
    const asText = workerScript('file:///opt/app/out/cli/wrap-worker.js')
    expect(asText).toBeInstanceOf(URL)
    expect(String(asText)).toBe('file:///opt/app/out/cli/wrap-worker.js')
    expect(workerScript('/opt/app/out/cli/wrap-worker.js')).toBe('/opt/app/out/cli/wrap-worker.js')
    const url = new URL('file:///x.js')
    expect(workerScript(url)).toBe(url)
  })
})

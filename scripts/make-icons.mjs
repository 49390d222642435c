// Draws the app and tray icons as PNGs (no image tools needed): a shield-like ring whose
// colour tells the state. Run once; the PNGs are committed under resources/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

function crc32(buf) {
  let c, crc = 0xffffffff
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    crc = (crc >>> 8) ^ c
  }
  return (crc ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length)
  const td = Buffer.concat([Buffer.from(type), data])
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td))
  return Buffer.concat([len, td, crc])
}
function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size)
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel((x + 0.5) / size, (y + 0.5) / size)
      raw.set([r, g, b, a], y * (size * 4 + 1) + 1 + x * 4)
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4); ihdr[8] = 8; ihdr[9] = 6
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}
// a ring with a centre dot; the dot's colour carries the state
function icon(ring, dot) {
  return (x, y) => {
    const d = Math.hypot(x - 0.5, y - 0.5)
    if (d > 0.34 && d < 0.47) return [...ring, 255]
    if (d < 0.2) return [...dot, 255]
    return [0, 0, 0, 0]
  }
}
const states = { normal: [46, 160, 67], attention: [219, 154, 4], error: [207, 34, 46] }
mkdirSync('resources/tray', { recursive: true })
for (const [state, colour] of Object.entries(states)) {
  for (const [suffix, size] of [['', 16], ['@2x', 32]]) {
    writeFileSync(`resources/tray/tray-${state}${suffix}.png`, png(size, icon([90, 100, 115], colour)))
    // template images: black with alpha only; the state shows as a filled or hollow centre
    const tmpl = state === 'normal' ? icon([0, 0, 0], [0, 0, 0]) : (x, y) => {
      const d = Math.hypot(x - 0.5, y - 0.5)
      if (d > 0.34 && d < 0.47) return [0, 0, 0, 255]
      if (state === 'attention' ? d < 0.2 && d > 0.1 : d < 0.2) return [0, 0, 0, 255]
      return [0, 0, 0, 0]
    }
    writeFileSync(`resources/tray/tray-${state}Template${suffix}.png`, png(size, tmpl))
  }
}
writeFileSync('resources/icon.png', png(512, icon([40, 90, 160], [46, 160, 67])))
mkdirSync('build', { recursive: true })
writeFileSync('build/icon.png', png(512, icon([40, 90, 160], [46, 160, 67])))
console.log('icons written')

export { electronBinary } from '../../scripts/electron-binary.mjs'

export const NO_ELECTRON_REASON =
  'No Electron binary: node_modules/electron/dist is absent (electron downloads it lazily on first require, which these tests avoid, and its host is unreachable here). Set ELECTRON_BIN=/path/to/electron to run the Electron tests.'

export { electronBinary } from '../../scripts/electron-binary.mjs'

export const NO_ELECTRON_REASON =
  'No Electron binary: node_modules/electron/dist is absent (its download host is unreachable here). Set ELECTRON_BIN to run the Electron tests.'

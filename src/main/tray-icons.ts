import { join } from 'node:path'
import type { TrayIconState } from './tray-menu'

/**
 * The tray icon file for a state: macOS gets monochrome template images (the OS tints them;
 * the `Template` suffix tells it to), other platforms coloured PNGs.
 */
export function trayIconPath(resourcesDir: string, state: TrayIconState, platform: NodeJS.Platform): string {
  const file = platform === 'darwin' ? `tray-${state}Template.png` : `tray-${state}.png`
  return join(resourcesDir, 'tray', file)
}

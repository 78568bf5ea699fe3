// Debian's Chromium, headless, as the browser tests and the screenshot script drive it (playwright-core, no download).
import { chromium, type Browser } from 'playwright-core';

const QUIET = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** `webgl`: software WebGL through SwiftShader (the map page); otherwise the GPU is off. */
export function launchChromium(options: { webgl?: boolean } = {}): Promise<Browser> {
  const graphics = options.webgl ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] : ['--disable-gpu'];
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...QUIET, ...graphics] });
}

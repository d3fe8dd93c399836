/**
 * Table m (the overview map) in headless Chromium:
 *   node map_bench.mjs out.json N1 N2 …
 * Bundles map/map-main.ts (regl-scatterplot and src/summaries/projection.ts)
 * with esbuild, opens it in Debian's chromium (WebGL through SwiftShader on
 * a machine without a GPU) at 1,280 × 800, and for each N times the
 * projection (PCA; UMAP too up to MAP_BENCH_UMAP_MAX = 100,000 points), the
 * first draw, and the redraws while panning and zooming.
 */
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';

import { HERE, launchChromium } from './common.mjs';

const [outPath, ...sizes] = process.argv.slice(2);
const D = Number(process.env.MAP_BENCH_D || 64);
const FRAMES = Number(process.env.MAP_BENCH_FRAMES || 40);
// UMAP layouts are timed up to this many points (umapLayout, on the page).
const UMAP_MAX = Number(process.env.MAP_BENCH_UMAP_MAX || 100000);
const bundle = path.join(HERE, 'build', 'map-bench.js');
fs.mkdirSync(path.dirname(bundle), { recursive: true });
await esbuild.build({
  entryPoints: [path.join(HERE, 'map', 'map-main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  logLevel: 'warning'
});

const browser = await launchChromium();
const rows = [];
try {
  for (const n of sizes.map(Number)) {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 800 }
    });
    await page.setContent(
      '<div id="stage" style="position:relative;width:1280px;height:800px"></div>'
    );
    await page.addScriptTag({ path: bundle });
    const renderer = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl');
      const info = gl?.getExtension('WEBGL_debug_renderer_info');
      return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : 'unknown';
    });
    process.stdout.write(
      `  map ${n.toLocaleString('en-US')} × ${D} on ${renderer}…\n`
    );
    try {
      const r = await page.evaluate(options => window.mapBench.run(options), {
        n,
        d: D,
        frames: FRAMES,
        umapMax: UMAP_MAX
      });
      rows.push({ ok: true, renderer, ...r });
      process.stdout.write(
        `    projection ${r.projectionMs.toFixed(0)} ms${r.umapMs === null ? '' : `, UMAP ${r.umapMs.toFixed(0)} ms`}, first draw ${r.drawMs.toFixed(0)} ms, pan ${r.pan.medianMs.toFixed(1)} ms/frame, zoom ${r.zoom.medianMs.toFixed(1)} ms/frame\n`
      );
    } catch (error) {
      rows.push({ ok: false, n, d: D, renderer, error: String(error) });
      process.stdout.write(`    failed: ${error}\n`);
    }
    await page.close();
  }
} finally {
  await browser.close();
}
fs.writeFileSync(
  outPath,
  JSON.stringify({ d: D, frames: FRAMES, rows }, null, 1)
);

/**
 * Bundle the engine harness from the current sources (src/spotlight) with
 * esbuild: build/engine-node.js (CommonJS; tfjs stays external, as the CLI
 * loads it) and build/engine-browser.js (an IIFE with tfjs inside; the
 * tfjs-backend-wasm binaries are copied next to it and imported as URLs, as
 * the labextension does with its asset rule).
 */
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'build');
fs.mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  logLevel: 'warning',
  target: 'es2022',
  sourcemap: false,
  legalComments: 'none'
};

await esbuild.build({
  ...common,
  entryPoints: [path.join(here, 'engine', 'node-main.ts')],
  outfile: path.join(out, 'engine-node.js'),
  platform: 'node',
  format: 'cjs',
  external: ['@tensorflow/*']
});

await esbuild.build({
  ...common,
  entryPoints: [path.join(here, 'engine', 'browser-main.ts')],
  outfile: path.join(out, 'engine-browser.js'),
  platform: 'browser',
  format: 'iife',
  loader: { '.wasm': 'file' },
  assetNames: '[name]',
  publicPath: '/',
  define: { 'process.env.NODE_ENV': '"production"' },
  // tfjs references Node built-ins behind runtime checks.
  external: ['fs', 'path', 'crypto', 'worker_threads', 'os', 'util']
});
fs.copyFileSync(
  path.join(here, 'engine', 'index.html'),
  path.join(out, 'index.html')
);
process.stdout.write(`bundled the engine harness into ${out}\n`);

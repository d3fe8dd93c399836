/**
 * Bundle the engine harness from the current sources (src/spotlight) with
 * esbuild: build/engine-node.js (CommonJS; tfjs stays external, as the CLI
 * loads it) and build/engine-browser.js (an IIFE with tfjs inside). The
 * `wasm` backend's kernel is compiled first from assembly/spotlight.ts into
 * the git-ignored src/spotlight/wasmBinary.generated.ts (what
 * `jlpm build:wasm` runs), which embeds it as base64: the bundles need no
 * .wasm asset.
 */
import { execFileSync } from 'child_process';
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const out = path.join(here, 'build');
fs.mkdirSync(out, { recursive: true });
// Binaries of the former tfjs-backend-wasm backend, left by older builds.
for (const name of fs.readdirSync(out)) {
  if (name.endsWith('.wasm')) {
    fs.rmSync(path.join(out, name));
  }
}

// = `jlpm build:wasm`, without needing jlpm on PATH.
execFileSync(process.execPath, [path.join(repo, 'scripts', 'build-wasm.mjs')], {
  cwd: repo,
  stdio: 'inherit'
});

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
  define: { 'process.env.NODE_ENV': '"production"' },
  // tfjs references Node built-ins behind runtime checks.
  external: ['fs', 'path', 'crypto', 'worker_threads', 'os', 'util']
});
fs.copyFileSync(
  path.join(here, 'engine', 'index.html'),
  path.join(out, 'index.html')
);
process.stdout.write(`bundled the engine harness into ${out}\n`);

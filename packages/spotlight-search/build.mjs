/**
 * Build the spotlight-search package (run by `npm pack` through prepack):
 * the WASM kernel (scripts/build-wasm.mjs), then src/cli and src/spotlight
 * compiled to CommonJS in lib/ with the repository's tsconfig.cli.json, so the
 * package ships exactly the files the repository's CLI build makes (lib/cli,
 * lib/spotlight, and whatever tsconfig.cli.json includes later). Needs the
 * repository's node_modules (TypeScript, AssemblyScript): run it from a
 * checkout after `jlpm install`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(join(root, 'package.json'));

rmSync(join(here, 'lib'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'scripts', 'build-wasm.mjs')], {
  stdio: 'inherit'
});
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(here, 'tsconfig.json')],
  { stdio: 'inherit' }
);
copyFileSync(join(root, 'LICENSE'), join(here, 'LICENSE'));

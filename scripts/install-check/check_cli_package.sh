#!/usr/bin/env bash
# The command-line package as users get it: pack packages/spotlight-search (prepack
# builds it), install the tarball with npm into an empty temporary folder, and run
# one audit on a small .npy pair that numpy writes. Fails when:
#   - the tarball misses a file of the CLI build (lib/node, built by `jlpm build:cli`
#     from the same tsconfig.cli.json), e.g. a new worker entry;
#   - lib/ requires a package that is not among the package's dependencies;
#   - the install pulls @jupyterlab/*, @tensorflow/* or vega;
#   - the run fails or its JSON is not one spotlight on the wasm backend.
# Prints the install size. Usage: scripts/install-check/check_cli_package.sh
# (after `jlpm build`; needs npm, network access to the npm registry or its cache,
# and a python with numpy: $PYTHON, default python3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$ROOT/packages/spotlight-search
PYTHON=$(command -v "${PYTHON:-python3}")
started=$SECONDS
work=$(mktemp -d -t spotlight-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
say() { echo "check_cli_package: $*"; }
die() {
  echo "check_cli_package: FAIL: $*"
  exit 1
}

# 1. Pack (prepack builds lib/ from src/).
(cd "$PKG" && npm pack --silent --pack-destination "$work" >"$work/pack.out")
tarball=$work/$(tail -n 1 "$work/pack.out")
[ -f "$tarball" ] || die "npm pack made no tarball ($(cat "$work/pack.out"))"
say "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB) in $((SECONDS - started)) s"

# 2. Every file of the CLI build is in the tarball, and lib/ needs only declared packages.
tar -tzf "$tarball" | sed 's|^package/||' | sort >"$work/files"
if [ -d "$ROOT/lib/node" ]; then
  missing=$(cd "$ROOT/lib/node" && find . -name '*.js' ! -name tensorKernel.js | sed 's|^\./|lib/|' | sort |
    comm -23 - "$work/files")
  [ -z "$missing" ] || die "the tarball lacks files that the CLI build (lib/node) has: $missing"
fi
node - "$PKG" <<'EOF' || die "lib/ requires packages that package.json does not declare (above)"
const fs = require('fs');
const path = require('path');
const pkg = process.argv[2];
const deps = Object.keys(require(path.join(pkg, 'package.json')).dependencies ?? {});
const undeclared = new Set();
const walk = dir => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(file);
    else if (entry.name.endsWith('.js') && entry.name !== 'tensorKernel.js') {
      for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (require('module').isBuiltin(name)) continue;
        if (!deps.includes(name)) undeclared.add(`${name} (in ${path.relative(pkg, file)})`);
      }
    }
  }
};
walk(path.join(pkg, 'lib'));
if (undeclared.size) {
  console.error([...undeclared].join('\n'));
  process.exit(1);
}
EOF

# 3. Install into an empty folder, as a user would.
mkdir "$work/app"
cd "$work/app"
echo '{"name": "spotlight-cli-check", "private": true}' >package.json
t=$SECONDS
npm install --silent --no-audit --no-fund "$tarball"
count=$(($(npm ls --all --parseable 2>/dev/null | sort -u | wc -l) - 1))
size=$(du -sk node_modules | cut -f1)
say "npm install of the tarball: $count packages, $((size / 1024)).$(((size % 1024) * 10 / 1024)) MiB in node_modules, $((SECONDS - t)) s"
for heavy in @jupyterlab @tensorflow vega @lumino; do
  [ ! -e "node_modules/$heavy" ] || die "the install pulled $heavy: $(npm ls --all "$heavy" 2>&1 | head -5)"
done

# 4. One audit on a small .npy pair (float64 embeddings, big-endian float32 losses), on two
#    worker threads: the shard worker script must be in the package.
"$PYTHON" - <<'EOF'
import numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(400, 8))
loss = np.where(np.linalg.norm(x - x[0], axis=1) < 2.5, 3.0, 0.2) + rng.uniform(0, 0.1, 400)
np.save("embeddings.npy", x)
np.save("losses.npy", loss.astype(">f4"))
EOF
t=$SECONDS
npx --no-install spotlight-search --embeddings embeddings.npy --losses losses.npy \
  --count 1 --steps 300 --threads 2 --quiet --out result.json || die "spotlight-search exited with $?"
node - <<'EOF' || die "result.json is not what the run should write (above)"
const r = JSON.parse(require('fs').readFileSync('result.json', 'utf8'));
const ok = r.version === 1 && r.backend === 'wasm' && r.spotlights?.length === 1;
console.error(`check_cli_package: result: version ${r.version}, backend ${r.backend}, ${r.spotlights?.length} spotlight(s)`);
process.exit(ok ? 0 : 1);
EOF
say "one audit (400 x 8, 300 steps, 2 worker threads) through npx in $((SECONDS - t)) s"
say "passed in $((SECONDS - started)) s"

// Benchmark h: the permutation test's extra time (issue "Regions you can trust").
// Usage: node benchmarks/significance.js N D NULLS  → one JSON line on stdout.
// Times the search for one spotlight and NULLS null searches (permuted losses) on
// planted Gaussian data, with the built engine (lib/node, backend wasm).
'use strict';
const path = require('path');
const { findSpotlights, nullDistribution, uniform } = require(
  path.join(__dirname, '..', 'lib', 'node', 'spotlight')
);

async function main() {
  const [n, d, nulls] = process.argv.slice(2).map(Number);
  const rand = uniform(1);
  const gauss = () =>
    Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centre = Float32Array.from({ length: d }, () => 2 * gauss());
  const embeddings = new Float32Array(n * d);
  const losses = new Float32Array(n);
  const planted = Math.floor(0.02 * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      embeddings[i * d + j] = (i < planted ? centre[j] : 0) + gauss();
    }
    losses[i] = i < planted ? 2 + 0.3 * gauss() : -0.2 * Math.log(1 - rand());
  }
  const input = { embeddings, losses, n, d };
  const options = { backend: 'wasm', count: 1 };
  let t = Date.now();
  await findSpotlights(input, options);
  const searchMs = Date.now() - t;
  t = Date.now();
  await nullDistribution(input, options, {
    permutations: nulls,
    seed: 0,
    scheme: 'permute'
  });
  const nullMs = (Date.now() - t) / nulls;
  process.stdout.write(
    JSON.stringify({ n, d, nulls, searchMs, nullMs }) + '\n'
  );
}

main().catch(error => {
  process.stderr.write(
    String(error && error.stack ? error.stack : error) + '\n'
  );
  process.exit(1);
});

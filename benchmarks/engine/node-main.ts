/**
 * The engine benchmark in Node: `node build/engine-node.js plan.json out.json`.
 *
 * plan.json: `{ cases: [{ n, d, x, loss, backend, steps? | budgetMs? }],
 * kernels: [{ n, d, x, loss, kernel, activeFraction, budgetMs, minCalls }] }`
 * with raw little-endian float32 files (see harness.ts `runPlanned` and
 * `kernelBandwidth`).
 */
import * as fs from 'fs';

import {
  environment,
  IKernelSpec,
  IPlanCase,
  kernelBandwidth,
  runPlanned
} from './harness';

function readF32(path: string, count: number): Float32Array {
  const buf = fs.readFileSync(path);
  if (buf.byteLength !== count * 4) {
    throw new Error(`${path}: ${buf.byteLength} bytes, expected ${count * 4}`);
  }
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

async function main(): Promise<void> {
  const [planPath, outPath] = process.argv.slice(2);
  const plan = JSON.parse(fs.readFileSync(planPath, 'utf8')) as {
    cases: (IPlanCase & { x: string; loss: string })[];
    kernels?: (IKernelSpec & {
      n: number;
      d: number;
      x: string;
      loss: string;
    })[];
  };
  const results: Record<string, unknown>[] = [];
  const kernels: Record<string, unknown>[] = [];
  let cache: {
    key: string;
    embeddings: Float32Array;
    losses: Float32Array;
  } | null = null;
  const save = async () =>
    fs.writeFileSync(
      outPath,
      JSON.stringify({ env: await environment(), results, kernels }, null, 1)
    );
  const data = (c: { n: number; d: number; x: string; loss: string }) => {
    const key = `${c.x}|${c.loss}`;
    if (!cache || cache.key !== key) {
      cache = null;
      cache = {
        key,
        embeddings: readF32(c.x, c.n * c.d),
        losses: readF32(c.loss, c.n)
      };
    }
    return {
      embeddings: cache.embeddings,
      losses: cache.losses,
      n: c.n,
      d: c.d
    };
  };
  for (const c of plan.cases) {
    const input = data(c);
    const record = await runPlanned(input, c);
    results.push({
      platform: 'node',
      n: c.n,
      d: c.d,
      requested: c.backend,
      ...(c.pruning === undefined ? {} : { pruningRequested: c.pruning }),
      ...record
    });
    process.stderr.write(
      `  node ${c.backend} ${c.n}x${c.d}: ${record.ok ? `${record.steps} steps, ${Number(record.meanStepMs).toFixed(2)} ms/step` : record.error}\n`
    );
    await save();
  }
  for (const k of plan.kernels ?? []) {
    const record = await kernelBandwidth(data(k), k);
    kernels.push({ platform: 'node', ...record });
    process.stderr.write(
      `  node ${record.kernel} ${k.n}x${k.d}: ${record.ok ? `${Number(record.meanMs).toFixed(2)} ms/moments(), ${record.calls} calls` : record.error}\n`
    );
    await save();
  }
  await save();
}

main().catch(error => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});

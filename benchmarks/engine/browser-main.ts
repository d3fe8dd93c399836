/**
 * The engine benchmark in the browser: the page (engine/index.html) loads this
 * bundle, and the driver (browser_engine.mjs) calls
 * `window.spotlightBench.run(case)` for each case. Data files are fetched from
 * the driver's local server.
 */
import * as CRC32 from 'crc-32';

import {
  environment,
  IKernelSpec,
  IPlanCase,
  kernelBandwidth,
  runPlanned
} from './harness';

let current: {
  key: string;
  embeddings: Float32Array;
  losses: Float32Array;
} | null = null;

async function load(url: string, count: number): Promise<Float32Array> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  const buffer = await response.arrayBuffer();
  if (buffer.byteLength !== count * 4) {
    throw new Error(
      `${url}: ${buffer.byteLength} bytes, expected ${count * 4}`
    );
  }
  return new Float32Array(buffer);
}

async function data(c: {
  x: string;
  loss: string;
  n: number;
  d: number;
}): Promise<{ embeddings: Float32Array; losses: Float32Array }> {
  const key = `${c.x}|${c.loss}`;
  if (!current || current.key !== key) {
    current = null;
    current = {
      key,
      embeddings: await load(c.x, c.n * c.d),
      losses: await load(c.loss, c.n)
    };
  }
  return current;
}

async function run(
  c: IPlanCase & { x: string; loss: string }
): Promise<Record<string, unknown>> {
  const current = await data(c);
  return runPlanned(
    {
      embeddings: current.embeddings,
      losses: current.losses,
      n: c.n,
      d: c.d
    },
    c
  );
}

/**
 * Throughput of the CRC-32 the bridge computes over every fetched chunk
 * (crc-32's `buf`, on the main thread), in MB/s.
 *
 * @param megabytes - Size of the buffer.
 * @returns MB/s over the best of three passes.
 */
function crc(megabytes: number): number {
  const bytes = new Uint8Array(megabytes * 1e6);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = (i * 2654435761) >>> 24;
  }
  const chunk = 4 * 1024 * 1024;
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    let c = 0;
    for (let o = 0; o < bytes.length; o += chunk) {
      c = CRC32.buf(bytes.subarray(o, o + chunk), c);
    }
    best = Math.min(best, performance.now() - t0);
  }
  return bytes.length / 1e3 / best;
}

async function kernel(
  c: IKernelSpec & { x: string; loss: string; n: number; d: number }
): Promise<Record<string, unknown>> {
  const current = await data(c);
  return kernelBandwidth(
    {
      embeddings: current.embeddings,
      losses: current.losses,
      n: c.n,
      d: c.d
    },
    c
  );
}

(window as any).spotlightBench = { run, environment, crc, kernel };
(window as any).spotlightBenchReady = true;

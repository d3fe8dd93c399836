/**
 * The overview map's benchmark in the page (bundled by map_bench.mjs):
 * `window.mapBench.run({n, d, frames})` makes N × D planted embeddings,
 * times the projection the map uses (projectAllRows: PCA fitted on a
 * sample, applied to all rows) and, for N ≤ `umapMax`, the UMAP layout
 * (umapLayout: UMAP on 2,000 sampled rows, every other row placed from its
 * nearest sampled neighbours), draws every point with regl-scatterplot
 * as the audit view does, then pans and zooms for `frames` frames each and
 * reports the time between successive redraws.
 */
import createScatterplot from 'regl-scatterplot';

import { projectAllRows } from '../../src/summaries/projection';
import { umapLayout } from '../../src/summaries/umapLayout';

/** Seeded uniform in [0, 1) (LCG). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** N × D rows around 8 centres (σ = 1, centres 4 apart), and their losses. */
function planted(n: number, d: number) {
  const rand = rng(42);
  const centres = Array.from({ length: 8 }, () =>
    Float32Array.from({ length: d }, () => (rand() - 0.5) * 8)
  );
  const x = new Float32Array(n * d);
  const loss = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = centres[i % 8];
    for (let k = 0; k < d; k++) {
      // Sum of 3 uniforms ≈ normal (σ = 0.5 per uniform pair).
      x[i * d + k] = c[k] + (rand() + rand() + rand() - 1.5);
    }
    loss[i] = (i % 8) / 8 + rand() * 0.2;
  }
  return { x, loss };
}

function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length);
  return {
    frames: ms.length,
    meanMs: mean,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    p95Ms:
      sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))] ??
      NaN
  };
}

async function run(options: {
  n: number;
  d: number;
  frames: number;
  umapMax: number;
}) {
  const { n, d, frames, umapMax } = options;
  const t0 = performance.now();
  const { x, loss } = planted(n, d);
  const dataMs = performance.now() - t0;
  const t1 = performance.now();
  const layout = projectAllRows(x, n, d);
  const projectionMs = performance.now() - t1;
  let umapMs: number | null = null;
  if (n <= umapMax) {
    const tu = performance.now();
    const umap = await umapLayout(x, n, d, { seed: 0 });
    umapMs = performance.now() - tu;
    if (!umap.xy.every(Number.isFinite)) {
      throw new Error('the UMAP layout has non-finite coordinates');
    }
  }

  const stage = document.getElementById('stage')!;
  const canvas = document.createElement('canvas');
  stage.replaceChildren(canvas);
  const { width, height } = stage.getBoundingClientRect();
  const plot: any = createScatterplot({
    canvas,
    width,
    height,
    pointSize: 3,
    opacityBy: 'valueB',
    opacity: [0, 0.22, 0.3, 0.38, 0.46, 0.55, 0.65, 0.75, 0.87, 1],
    colorBy: 'valueA',
    pointColor: ['#440154', '#3e4989', '#26828e', '#35b779', '#fde725']
  });
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = layout.xy[2 * i];
    ys[i] = layout.xy[2 * i + 1];
    a[i] = Math.min(1, loss[i]);
    b[i] = i % 50 === 0 ? 1 : 0.2;
  }
  const t2 = performance.now();
  await plot.draw(
    { x: xs, y: ys, valueA: a, valueB: b },
    { zDataType: 'continuous', wDataType: 'continuous' }
  );
  const drawMs = performance.now() - t2;

  let resolveDraw: (() => void) | null = null;
  plot.subscribe('draw', () => {
    resolveDraw?.();
    resolveDraw = null;
  });
  const nextDraw = () =>
    new Promise<void>(resolve => {
      resolveDraw = resolve;
    });
  const measure = async (move: (f: number) => void) => {
    const times: number[] = [];
    let last = performance.now();
    for (let f = 0; f < frames; f++) {
      const drawn = nextDraw();
      move(f);
      await drawn;
      // The frame reaches the screen: wait for the next animation frame.
      await new Promise(requestAnimationFrame);
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    return stats(times.slice(1));
  };
  const pan = await measure(f =>
    plot.set({ cameraTarget: [Math.sin(f / 5) * 0.5, Math.cos(f / 7) * 0.3] })
  );
  const zoom = await measure(f =>
    plot.set({ cameraDistance: 1 / (1 + 0.1 * ((f % 20) + 1)) })
  );
  plot.destroy();
  return {
    n,
    d,
    dataMs,
    projectionMs,
    umapMs,
    fitRows: layout.fitRows,
    drawMs,
    pan,
    zoom,
    width,
    height,
    devicePixelRatio: window.devicePixelRatio
  };
}

(window as any).mapBench = { run };

import { findSpotlights } from '../../spotlight';
import { plantedClusters } from './planted';
jest.setTimeout(120000);
it('dbg', async () => {
  const data = plantedClusters(3000, 32, 3);
  const options = { backend: 'cpu' as const, count: 2, steps: 1500 };
  const on = await findSpotlights(data, options);
  const off = await findSpotlights(data, { ...options, pruning: false });
  for (let j = 0; j < 2; j++) {
    const a = on.spotlights[j].history, b = off.spotlights[j].history;
    let w = 0, wt = -1, wk = 0, first = -1;
    for (let t = 0; t < 1500; t++) {
      const r = Math.abs(a.objective[t] - b.objective[t]) / Math.max(Math.abs(a.objective[t]), 1e-30);
      if (r > w) { w = r; wt = t; }
      if (first < 0 && r > 1e-6) first = t;
      wk = Math.max(wk, Math.abs(a.totalWeight[t] - b.totalWeight[t]) / b.totalWeight[t]);
    }
    console.log(j, w, wt, a.objective[wt], b.objective[wt], wk, first, on.spotlights[j].stats, off.spotlights[j].stats);
  }
});

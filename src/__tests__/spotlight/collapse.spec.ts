/**
 * The collapse guard (engine.ts, `collapseFloor`): where the paper's
 * optimiser at its defaults loses every example, the search now returns the
 * high-loss group; runs that never come near a collapse are untouched.
 *
 * The fixture (fixtures/planted-digits) is problem 10 of
 * benchmarks/planted_digits.py (`--first 10 --problems 1`): the 1,797 real
 * digits, the demo's MLP, a compact group of 36 zeros (2 %) that carry a
 * spurious corner patch and whose training labels were flipped to 7; losses
 * are out-of-fold cross-entropy (group mean 10.3 nats, overall 0.31) and the
 * embeddings the MLP's 32 hidden units.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

import { readNpy } from '../../cli/npy';
import {
  findSpotlights,
  ISpotlightResult,
  SpotlightRunError,
  spotlightSizeFromFraction
} from '../../spotlight';
import { topIndices, twoCompactGroups } from './planted';

jest.setTimeout(180000);

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'planted-digits');

/** The planted-digits fixture. */
function fixture() {
  const read = (name: string) =>
    readNpy(new Uint8Array(readFileSync(path.join(FIXTURE, name))), name);
  const embeddings = read('embeddings.npy');
  const losses = read('losses.npy');
  const { group } = JSON.parse(
    readFileSync(path.join(FIXTURE, 'group.json'), 'utf8')
  ) as { group: number[] };
  const [n, d] = embeddings.shape;
  return {
    input: { embeddings: embeddings.data, losses: losses.data, n, d },
    group: new Set(group)
  };
}

describe('the collapse guard on the planted digits (defaults: S = 2 %, c = 1, T = 5,000)', () => {
  const { input, group } = fixture();
  const size = spotlightSizeFromFraction(0.02, input.n);

  it('reproduces the collapse with the guard off: the paper optimiser loses every example', async () => {
    const run = findSpotlights(input, {
      backend: 'cpu',
      count: 1,
      collapseGuard: false
    });
    await expect(run).rejects.toThrow(SpotlightRunError);
    await expect(run).rejects.toMatchObject({ code: 'zero-weight' });
    await expect(run).rejects.toThrow(/collapse guard was off/);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`returns the planted group as region 1 with K ≈ 1.05 S on ${backend}`, async () => {
      const r = await findSpotlights(input, { backend, count: 2 });
      expect(r.backend).toBe(backend);
      const s = r.spotlights[0];
      expect(s.guardSteps).toBeGreaterThan(0);
      expect(s.totalWeight).toBeGreaterThanOrEqual(0.97 * 1.05 * size);
      expect(s.totalWeight).toBeLessThanOrEqual(1.1 * 1.05 * size);
      // The 36 heaviest examples are the 36 planted ones.
      const top = topIndices(s.kernelWeights, group.size);
      expect(top.filter(i => group.has(i)).length).toBe(group.size);
      expect(s.weightedLossOriginal).toBeGreaterThan(8);
      // The guard never leaves a step below the floor.
      for (const K of s.history.totalWeight) {
        expect(K).toBeGreaterThanOrEqual(size * (1 - 1e-6));
      }
      // Spotlight 2 runs on the damped losses and ends at the size too.
      expect(r.spotlights[1].totalWeight).toBeGreaterThan(0.97 * 1.05 * size);
    });
  }
});

describe('nothing found is thrown away', () => {
  it('keeps the spotlights found before a failed one, on the error', async () => {
    const data = twoCompactGroups();
    let error: unknown;
    try {
      await findSpotlights(data, {
        backend: 'cpu',
        count: 3,
        collapseGuard: false
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpotlightRunError);
    const failed = error as SpotlightRunError;
    expect(failed.code).toBe('zero-weight');
    expect(failed.message).toMatch(/^Spotlight 2 lost every example/);
    expect(failed.failedSpotlight).toBe(1);
    const partial = failed.partial as ISpotlightResult;
    expect(partial.spotlights).toHaveLength(1);
    const first = partial.spotlights[0];
    // Spotlight 1 is the tight group (indices 0–39).
    const top = topIndices(first.kernelWeights, 40);
    expect(top.filter(i => i < 40).length).toBeGreaterThanOrEqual(38);
    expect(partial.timings.perSpotlightMs).toHaveLength(1);
  });

  it('with the guard on, the same data gives every spotlight', async () => {
    const data = twoCompactGroups();
    const size = spotlightSizeFromFraction(0.02, data.n);
    const r = await findSpotlights(data, { backend: 'cpu', count: 3 });
    expect(r.spotlights).toHaveLength(3);
    expect(r.spotlights[1].guardSteps).toBeGreaterThan(0);
    for (const s of r.spotlights) {
      expect(s.totalWeight).toBeGreaterThanOrEqual(size);
    }
    // Spotlight 2 is the loose group (indices 40–79).
    const top = topIndices(r.spotlights[1].kernelWeights, size);
    expect(top.filter(i => i >= 40 && i < 80).length).toBeGreaterThanOrEqual(
      0.9 * size
    );
  });

  it('a failure of the first spotlight carries no partial result', async () => {
    const { input } = fixture();
    let error: unknown;
    try {
      await findSpotlights(input, {
        backend: 'cpu',
        count: 2,
        collapseGuard: false
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpotlightRunError);
    expect((error as SpotlightRunError).partial).toBeUndefined();
  });
});

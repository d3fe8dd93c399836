/**
 * blocks.ts: the fixed summation tree that makes the sharded engine's sums
 * the single kernel's, bit for bit.
 */
import {
  coverNodes,
  foldNodes,
  INodeValues,
  leafRows,
  rowTree
} from '../../spotlight';
import { uniform } from './planted';

/** Values whose float64 sum depends on the order of the additions. */
function terms(n: number, seed: number): Float64Array {
  const rand = uniform(seed);
  return Float64Array.from({ length: n }, () => {
    const e = Math.floor(rand() * 40) - 20;
    return (rand() - 0.5) * Math.pow(2, e);
  });
}

/** Node values of rows [r0, r1) of `x` (W = 2: the value and 1). */
function cover(x: Float64Array, r0: number, r1: number): INodeValues {
  return coverNodes(rowTree(x.length), r0, r1, 2, (a, b, out) => {
    for (let i = a; i < b; i++) {
      out[0] += x[i];
      out[1] += 1;
    }
  });
}

/** The root from kernels holding the rows between consecutive bounds. */
function sumOver(x: Float64Array, bounds: number[]): Float64Array {
  const sets: INodeValues[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    sets.push(cover(x, bounds[i], bounds[i + 1]));
  }
  const out = new Float64Array(2);
  foldNodes(rowTree(x.length), sets, 2, out);
  return out;
}

describe('leafRows', () => {
  it('uses leaves of 32 · 2^k rows: ≤ 64 of them or ≥ 1,024 rows, ≤ 256 of them', () => {
    expect(leafRows(1)).toBe(32);
    expect(leafRows(2048)).toBe(32);
    expect(leafRows(2049)).toBe(64);
    expect(leafRows(50_000)).toBe(1024);
    expect(leafRows(262_144)).toBe(1024);
    expect(leafRows(262_145)).toBe(2048);
    expect(leafRows(1_000_000)).toBe(4096);
    for (const n of [1, 31, 33, 5000, 123_457, 3_000_001]) {
      const { leaf, leaves } = rowTree(n);
      expect(leaves).toBeLessThanOrEqual(256);
      expect(leaf % 32).toBe(0);
      expect((leaves - 1) * leaf).toBeLessThan(n);
      expect(leaves * leaf).toBeGreaterThanOrEqual(n);
    }
  });
});

describe('coverNodes and foldNodes', () => {
  const n = 10_001;
  const x = terms(n, 3);
  const leaf = leafRows(n);
  const whole = sumOver(x, [0, n]);

  it('sends the root alone for a kernel holding all rows', () => {
    const all = cover(x, 0, n);
    expect(all.nodes).toEqual([0, rowTree(n).leaves]);
    expect(all.pieces).toEqual([false]);
    expect(whole[1]).toBe(n);
  });

  it('gives the same float64 sum for every split along leaves', () => {
    // The same additions in another order round differently on these terms.
    let sequential = 0;
    for (const v of x) {
      sequential += v;
    }
    expect(sequential).not.toBe(whole[0]);
    for (const bounds of [
      [0, 5 * leaf, n],
      [0, leaf, 2 * leaf, 30 * leaf, n],
      [0, 7 * leaf, 8 * leaf, 20 * leaf, 35 * leaf, n]
    ]) {
      expect(Array.from(sumOver(x, bounds))).toEqual(Array.from(whole));
    }
  });

  it('adds the pieces of a leaf cut by a boundary, in order', () => {
    const cut = cover(x, 0, 100);
    expect(cut.pieces[cut.pieces.length - 1]).toBe(true);
    const r = sumOver(x, [0, 100, 5000, n]);
    expect(r[1]).toBe(n);
    expect(Math.abs(r[0] - whole[0])).toBeLessThan(1e-9 * Math.abs(whole[0]));
  });

  it('refuses kernels that leave rows of X uncovered, naming the rows', () => {
    const out = new Float64Array(2);
    expect(() =>
      foldNodes(rowTree(n), [cover(x, 0, 16 * leaf)], 2, out)
    ).toThrow(
      new RegExp(
        `leaf 16 \\(rows ${(16 * leaf).toLocaleString('en-US')}…\\): the shards do not cover X`
      )
    );
  });
});

/**
 * The fixed summation order of the moments (issue 11): sums over the rows of
 * X are formed leaf by leaf and added up a fixed binary tree, so that a
 * single kernel and any number of shards round identically.
 *
 * The rows 0 … N − 1 are cut into L leaves of `leafRows(N)` consecutive rows
 * (a multiple of 32, the WASM kernel's float32 block; the last leaf may be
 * shorter). A node [lo, hi) of the tree is a run of leaves: a leaf is summed
 * row by row, and a wider node is its left half plus its right half, with
 * mid = ⌊(lo + hi)/2⌋, each half summed the same way. The value of a node
 * depends only on N and its own rows. A kernel that holds the rows
 * [r0, r1) sends the values of the widest nodes inside them (`coverNodes`;
 * one node, the root, when it holds all of X); the coordinator rebuilds the
 * root from them (`foldNodes`) with the same additions. So the moments of X
 * are the same float64 numbers for every split of X into shards along leaf
 * boundaries (`shardBounds` splits there). A shard boundary inside a leaf
 * (shard sizes given by hand) is allowed: that leaf's pieces are added in
 * shard order, and only that leaf's rounding depends on the split.
 *
 * Values are packed float64 vectors of a fixed width W (the moments: 2D + 4).
 * Floating-point addition is not associative: this is what makes Adam's path
 * (which divides each gradient coordinate by its running RMS, so amplifies
 * rounding near the optimum) independent of the shard count.
 */

/** The most leaves the tree has. */
export const MAX_LEAVES = 256;

/** The smallest leaf: the WASM kernel sums rows in float32 blocks of 32. */
export const MIN_LEAF_ROWS = 32;

/**
 * Rows per leaf for N rows: 32 · 2^k, grown until there are at most 64
 * leaves or the leaves reach 1,024 rows, then until there are at most
 * `MAX_LEAVES`. Each leaf costs a few passes over 2D + 4 values per step
 * (zero, copy, add up the tree): leaves of ≥ 1,024 rows keep that to a few
 * per cent of the step (on 50,000 × 512: 49 leaves), and small data still
 * splits into up to 64 shards.
 *
 * @param n - N ≥ 1.
 * @returns Rows per leaf.
 */
export function leafRows(n: number): number {
  let rows = MIN_LEAF_ROWS;
  while (Math.ceil(n / rows) > 64 && rows < 1024) {
    rows *= 2;
  }
  while (Math.ceil(n / rows) > MAX_LEAVES) {
    rows *= 2;
  }
  return rows;
}

/**
 * The values of some nodes of the tree: node k spans leaves
 * [nodes[2k], nodes[2k + 1]) and its W values are values[kW … (k + 1)W).
 * A node that is one leaf, partly held (a shard boundary inside the leaf),
 * is a piece: `pieces[k]` is true.
 */
export interface INodeValues {
  /** [lo, hi) pairs, in leaf units, left to right. */
  nodes: number[];
  /** Whether each node is a piece of a leaf. */
  pieces: boolean[];
  /** The packed values, W per node. */
  values: Float64Array;
}

/** The rows of X and their leaves. */
export interface IRowTree {
  /** N, all rows of X. */
  total: number;
  /** Rows per leaf. */
  leaf: number;
  /** L, the number of leaves. */
  leaves: number;
}

/**
 * The tree for N rows.
 *
 * @param total - N ≥ 1.
 * @returns Its leaf size and count.
 */
export function rowTree(total: number): IRowTree {
  const leaf = leafRows(total);
  return { total, leaf, leaves: Math.ceil(total / leaf) };
}

/**
 * The widest nodes of the tree within the rows [r0, r1) of one kernel (leaves
 * cut by r0 or r1 become pieces), planned once; `sum` computes their values,
 * each node summed down to its leaves.
 */
export class TreeCover {
  /**
   * @param tree - The tree of X.
   * @param r0 - First row held.
   * @param r1 - One past the last row held (r0 < r1 ≤ N).
   * @param width - W.
   */
  constructor(
    private readonly tree: IRowTree,
    private readonly r0: number,
    private readonly r1: number,
    private readonly width: number
  ) {
    const depth = Math.ceil(Math.log2(Math.max(2, tree.leaves))) + 1;
    this._scratch = Array.from(
      { length: depth },
      () => new Float64Array(width)
    );
    this._visit(0, tree.leaves);
  }

  /** [lo, hi) leaf pairs of the nodes, left to right. */
  readonly nodes: number[] = [];
  /** Whether each node is a piece of a leaf. */
  readonly pieces: boolean[] = [];

  /**
   * The nodes' values.
   *
   * @param leafSum - Adds the terms of rows [a, b) (global rows, within one
   *   leaf and within [r0, r1)) to `out` (W values, zeroed by the caller).
   * @returns The values (a new buffer, W per node).
   */
  sum(leafSum: (a: number, b: number, out: Float64Array) => void): INodeValues {
    const w = this.width;
    const values = new Float64Array(this.pieces.length * w);
    for (let k = 0; k < this.pieces.length; k++) {
      const out = values.subarray(k * w, (k + 1) * w);
      this._sum(this.nodes[2 * k], this.nodes[2 * k + 1], out, 0, leafSum);
    }
    return { nodes: this.nodes, pieces: this.pieces, values };
  }

  /**
   * A node's value: a leaf summed by `leafSum`, else left half + right half.
   *
   * @param lo - First leaf.
   * @param hi - One past the last.
   * @param out - Receives the value (overwritten).
   * @param level - Recursion depth (picks the scratch buffer).
   * @param leafSum - The leaf sums.
   */
  private _sum(
    lo: number,
    hi: number,
    out: Float64Array,
    level: number,
    leafSum: (a: number, b: number, out: Float64Array) => void
  ): void {
    if (hi - lo === 1) {
      out.fill(0);
      const { leaf, total } = this.tree;
      leafSum(
        Math.max(lo * leaf, this.r0),
        Math.min(total, hi * leaf, this.r1),
        out
      );
      return;
    }
    const mid = (lo + hi) >>> 1;
    this._sum(lo, mid, out, level + 1, leafSum);
    const right = this._scratch[level];
    this._sum(mid, hi, right, level + 1, leafSum);
    const w = this.width;
    for (let j = 0; j < w; j++) {
      out[j] += right[j];
    }
  }

  /**
   * Plan the widest nodes within [r0, r1) under node [lo, hi).
   *
   * @param lo - First leaf.
   * @param hi - One past the last.
   */
  private _visit(lo: number, hi: number): void {
    const { leaf, total } = this.tree;
    const a = lo * leaf;
    const b = Math.min(total, hi * leaf);
    if (b <= this.r0 || a >= this.r1) {
      return;
    }
    const whole = a >= this.r0 && b <= this.r1;
    if (whole || hi - lo === 1) {
      this.nodes.push(lo, hi);
      this.pieces.push(!whole);
      return;
    }
    const mid = (lo + hi) >>> 1;
    this._visit(lo, mid);
    this._visit(mid, hi);
  }

  private readonly _scratch: Float64Array[];
}

/**
 * Compute the values of the widest nodes within the rows [r0, r1) (a
 * one-off `TreeCover`).
 *
 * @param tree - The tree of X.
 * @param r0 - First row held.
 * @param r1 - One past the last row held (r0 < r1 ≤ N).
 * @param width - W.
 * @param leafSum - Adds the terms of rows [a, b) to `out` (zeroed).
 * @returns The nodes' values.
 */
export function coverNodes(
  tree: IRowTree,
  r0: number,
  r1: number,
  width: number,
  leafSum: (a: number, b: number, out: Float64Array) => void
): INodeValues {
  return new TreeCover(tree, r0, r1, width).sum(leafSum);
}

/**
 * The root's values (the sum over all of X) from the nodes that a set of
 * kernels sent, with the additions of `coverNodes`: pieces of one leaf are
 * added in the order given (shard order).
 *
 * @param tree - The tree of X.
 * @param sets - Each kernel's nodes, in row order; together they cover X.
 * @param width - W.
 * @param out - The root's W values.
 * @throws Error when a row of X is not covered.
 */
export function foldNodes(
  tree: IRowTree,
  sets: INodeValues[],
  width: number,
  out: Float64Array
): void {
  const found = new Map<number, Float64Array[]>();
  const key = (lo: number, hi: number) => lo * (tree.leaves + 1) + hi;
  for (const set of sets) {
    for (let k = 0; k < set.pieces.length; k++) {
      const id = key(set.nodes[2 * k], set.nodes[2 * k + 1]);
      const list = found.get(id) ?? [];
      list.push(set.values.subarray(k * width, (k + 1) * width));
      found.set(id, list);
    }
  }
  const scratch = Private.scratch(tree, width);
  const fold = (lo: number, hi: number, into: Float64Array, level: number) => {
    const list = found.get(key(lo, hi));
    if (list) {
      into.set(list[0]);
      for (let p = 1; p < list.length; p++) {
        const v = list[p];
        for (let j = 0; j < width; j++) {
          into[j] += v[j];
        }
      }
      return;
    }
    if (hi - lo === 1) {
      throw new Error(
        `No shard sent the rows of leaf ${lo} (rows ${(lo * tree.leaf).toLocaleString('en-US')}…): the shards do not cover X.`
      );
    }
    const mid = (lo + hi) >>> 1;
    fold(lo, mid, into, level + 1);
    const right = scratch[level];
    fold(mid, hi, right, level + 1);
    for (let j = 0; j < width; j++) {
      into[j] += right[j];
    }
  };
  fold(0, tree.leaves, out, 0);
}

/** Module state. */
namespace Private {
  const kept = new Map<string, Float64Array[]>();

  /**
   * One W-value buffer per tree level for `foldNodes` (kept between calls:
   * the coordinator folds every step, and folds never interleave).
   *
   * @param tree - The tree.
   * @param width - W.
   * @returns The buffers.
   */
  export function scratch(tree: IRowTree, width: number): Float64Array[] {
    const depth = Math.ceil(Math.log2(Math.max(2, tree.leaves))) + 1;
    const key = `${depth}:${width}`;
    let buffers = kept.get(key);
    if (!buffers) {
      buffers = Array.from({ length: depth }, () => new Float64Array(width));
      kept.set(key, buffers);
    }
    return buffers;
  }
}

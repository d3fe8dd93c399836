/**
 * The `wasm` backend's passes over X, in AssemblyScript compiled to
 * WebAssembly with 128-bit SIMD (scripts/build-wasm.mjs). The Spotlight's
 * method is in SPOTLIGHT_METHOD.md (d'Eon et al. 2021); the moments these
 * passes compute and the exact shell evaluation they serve are described in
 * src/spotlight/objective.ts and src/spotlight/shellKernel.ts, and the memory
 * layout is made by src/spotlight/wasmKernel.ts.
 *
 * Data, all in this module's memory, addressed by byte offsets:
 *   X       N rows of P float32 (P = D rounded up to a multiple of 16, the
 *           padding zero), 16-byte aligned;
 *   losses  N float32;  c, ref  P float32 (padding zero);
 *   A, B    P float64 accumulators;  list  BLOCK (row, weight) entries;
 *   rows    int32 row indices;  out  8 float64 scalars.
 *
 * Squared distances are summed in float32 over 16 lanes, without the
 * ‖x‖² − 2x·μ + ‖μ‖² expansion (no cancellation): the computed d̂ satisfies
 * |d̂ − d| ≤ (P/16 + 8)·2⁻²⁴·d (`distanceRounding` in wasmKernel.ts). The
 * rows that enter the vector moments are listed as they are found and summed
 * in float32 over blocks of `BLOCK` rows (column tiles in registers, while
 * the rows are still in cache), each block then added to float64 totals;
 * every scalar is summed in float64.
 */

/** Rows summed in float32 before their sum is added to the float64 totals. */
const BLOCK: i32 = 32;

/** The start of free memory: the caller lays its arrays out from here. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * ‖row − c‖² over P values (P a multiple of 16), float32.
 *
 * @param row - Byte offset of the row.
 * @param c - Byte offset of the centre.
 * @param p - P.
 * @returns The squared distance.
 */
function squaredDistance(row: usize, c: usize, p: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const end = row + ((<usize>p) << 2);
  let q = c;
  for (let r = row; r < end; r += 64, q += 64) {
    const v0 = f32x4.sub(v128.load(r), v128.load(q));
    const v1 = f32x4.sub(v128.load(r, 16), v128.load(q, 16));
    const v2 = f32x4.sub(v128.load(r, 32), v128.load(q, 32));
    const v3 = f32x4.sub(v128.load(r, 48), v128.load(q, 48));
    s0 = f32x4.add(s0, f32x4.mul(v0, v0));
    s1 = f32x4.add(s1, f32x4.mul(v1, v1));
    s2 = f32x4.add(s2, f32x4.mul(v2, v2));
    s3 = f32x4.add(s3, f32x4.mul(v3, v3));
  }
  const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
  return (
    f32x4.extract_lane(s, 0) +
    f32x4.extract_lane(s, 1) +
    (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3))
  );
}

/**
 * Add the float32 sums over a list of rows to float64 totals:
 * A += Σ_k w_k (x_k − ref), B += Σ_k (x_k − ref) (ref = 0 when `ref` is 0).
 * Column tiles of 8 values are summed over the rows in registers, then
 * added to A and B, so each row is read once from cache and the totals are
 * written once per tile.
 *
 * @param list - `count` entries of 8 bytes: a row's byte offset (u32) and its
 *   weight w (f32).
 * @param count - Number of rows (≤ BLOCK).
 * @param ref - Byte offset of the centre subtracted (P float32), or 0.
 * @param a - A (P float64).
 * @param b - B (P float64).
 * @param p - P.
 */
function addRows(
  list: usize,
  count: i32,
  ref: usize,
  a: usize,
  b: usize,
  p: i32
): void {
  const bytes = (<usize>p) << 2;
  const zero = f32x4.splat(0);
  const end = list + ((<usize>count) << 3);
  for (let o: usize = 0; o < bytes; o += 32) {
    let a0 = zero;
    let a1 = zero;
    let b0 = zero;
    let b1 = zero;
    let r0 = zero;
    let r1 = zero;
    if (ref) {
      r0 = v128.load(ref + o);
      r1 = v128.load(ref + o, 16);
    }
    for (let e = list; e < end; e += 8) {
      const row = <usize>load<u32>(e) + o;
      const w = f32x4.splat(load<f32>(e, 4));
      const v0 = f32x4.sub(v128.load(row), r0);
      const v1 = f32x4.sub(v128.load(row, 16), r1);
      a0 = f32x4.add(a0, f32x4.mul(w, v0));
      a1 = f32x4.add(a1, f32x4.mul(w, v1));
      b0 = f32x4.add(b0, v0);
      b1 = f32x4.add(b1, v1);
    }
    addTile(a + (o << 1), a0, a1);
    addTile(b + (o << 1), b0, b1);
  }
}

/**
 * A += Σ_k w_k x_k, B += Σ_k x_k over a list of rows: `addRows` without a
 * centre, in column tiles of 16 values (fewer list reads per value).
 *
 * @param list - `count` entries: a row's byte offset (u32), its weight (f32).
 * @param count - Number of rows (≤ BLOCK).
 * @param a - A (P float64).
 * @param b - B (P float64).
 * @param p - P.
 */
function addRowsUncentred(
  list: usize,
  count: i32,
  a: usize,
  b: usize,
  p: i32
): void {
  const bytes = (<usize>p) << 2;
  const zero = f32x4.splat(0);
  const end = list + ((<usize>count) << 3);
  for (let o: usize = 0; o < bytes; o += 64) {
    let a0 = zero;
    let a1 = zero;
    let a2 = zero;
    let a3 = zero;
    let b0 = zero;
    let b1 = zero;
    let b2 = zero;
    let b3 = zero;
    for (let e = list; e < end; e += 8) {
      const row = <usize>load<u32>(e) + o;
      const w = f32x4.splat(load<f32>(e, 4));
      const v0 = v128.load(row);
      const v1 = v128.load(row, 16);
      const v2 = v128.load(row, 32);
      const v3 = v128.load(row, 48);
      a0 = f32x4.add(a0, f32x4.mul(w, v0));
      a1 = f32x4.add(a1, f32x4.mul(w, v1));
      a2 = f32x4.add(a2, f32x4.mul(w, v2));
      a3 = f32x4.add(a3, f32x4.mul(w, v3));
      b0 = f32x4.add(b0, v0);
      b1 = f32x4.add(b1, v1);
      b2 = f32x4.add(b2, v2);
      b3 = f32x4.add(b3, v3);
    }
    addTile(a + (o << 1), a0, a1);
    addTile(a + (o << 1) + 64, a2, a3);
    addTile(b + (o << 1), b0, b1);
    addTile(b + (o << 1) + 64, b2, b3);
  }
}

/**
 * Add 8 float32 values (two vectors) to 8 float64 values at `at`.
 *
 * @param at - Byte offset of the float64 values.
 * @param v0 - Values 0–3.
 * @param v1 - Values 4–7.
 */
function addTile(at: usize, v0: v128, v1: v128): void {
  v128.store(at, f64x2.add(v128.load(at), f64x2.promote_low_f32x4(v0)));
  v128.store(
    at,
    f64x2.add(
      v128.load(at, 16),
      f64x2.promote_low_f32x4(v128.shuffle<f32>(v0, v0, 2, 3, 0, 1))
    ),
    16
  );
  v128.store(at, f64x2.add(v128.load(at, 32), f64x2.promote_low_f32x4(v1)), 32);
  v128.store(
    at,
    f64x2.add(
      v128.load(at, 48),
      f64x2.promote_low_f32x4(v128.shuffle<f32>(v1, v1, 2, 3, 0, 1))
    ),
    48
  );
}

/**
 * The unpruned arithmetic on a set of rows, added to what `a`, `b` and `out`
 * hold: for each row i with k̂_i = 1 − τ d̂_i ≥ 0 (d̂_i = ‖x_i − c‖²),
 *   out[0] += ℓ_i,  out[1] += 1,  out[2] += k̂_i,  out[3] += k̂_i ℓ_i,
 *   A += ℓ_i x_i,  B += x_i.
 *
 * @param x - X.
 * @param p - P (row stride in float32 values).
 * @param losses - ℓ (N float32).
 * @param rows - Row indices (int32), or 0 for rows 0 … count − 1.
 * @param count - Number of rows.
 * @param c - The centre (P float32).
 * @param tau - τ > 0.
 * @param list - Scratch for `BLOCK` row entries (8 bytes each).
 * @param a - A (P float64).
 * @param b - B (P float64).
 * @param out - The scalars (float64).
 */
export function accumulate(
  x: usize,
  p: i32,
  losses: usize,
  rows: usize,
  count: i32,
  c: usize,
  tau: f64,
  list: usize,
  a: usize,
  b: usize,
  out: usize
): void {
  const stride = (<usize>p) << 2;
  let sl: f64 = 0;
  let s1: f64 = 0;
  let total: f64 = 0;
  let weighted: f64 = 0;
  let pending: i32 = 0;
  for (let r: i32 = 0; r < count; r++) {
    const i: usize = rows
      ? <usize>load<i32>(rows + ((<usize>r) << 2))
      : <usize>r;
    const row = x + i * stride;
    const u = 1.0 - tau * <f64>squaredDistance(row, c, p);
    if (u >= 0) {
      const l = load<f32>(losses + (i << 2));
      sl += l;
      s1 += 1;
      total += u;
      weighted += u * l;
      const e = list + ((<usize>pending) << 3);
      store<u32>(e, <u32>row);
      store<f32>(e, l, 4);
      if (++pending === BLOCK) {
        addRowsUncentred(list, pending, a, b, p);
        pending = 0;
      }
    }
  }
  if (pending > 0) {
    addRowsUncentred(list, pending, a, b, p);
  }
  store<f64>(out, load<f64>(out) + sl);
  store<f64>(out, load<f64>(out, 8) + s1, 8);
  store<f64>(out, load<f64>(out, 16) + total, 16);
  store<f64>(out, load<f64>(out, 24) + weighted, 24);
}

/**
 * A rescan of exact shell evaluation: split the rows by their distance
 * D̂_i² = ‖x_i − ref‖² (float32, relative rounding ≤ `rounding`) into
 *   inside  — (1 + ε)(D_max + Δ)² < insideBelow, D_max = √(D̂²/(1 − ε)):
 *             out[0] += 1, out[1] += ℓ_i, out[2] += D̂_i², out[3] += ℓ_i D̂_i²,
 *             A += ℓ_i (x_i − ref), B += x_i − ref;
 *   outside — D_min > Δ and (1 − ε)(D_min − Δ)² > outsideAbove,
 *             D_min = √(D̂²/(1 + ε)): nothing;
 *   shell   — the rest: their indices are written to `rows`;
 * and write the shell's size to out[4]. A and B are added to; out[0..3] too.
 *
 * @param x - X.
 * @param p - P.
 * @param losses - ℓ (N float32).
 * @param n - N.
 * @param ref - The reference centre (P float32).
 * @param rounding - ε, the relative rounding bound of a squared distance.
 * @param delta - Δ, how far the centre may move from ref.
 * @param insideBelow - The smallest r² of the margin, lowered by a hair.
 * @param outsideAbove - The largest r² of the margin, raised by a hair.
 * @param list - Scratch for `BLOCK` row entries (8 bytes each).
 * @param a - A (P float64).
 * @param b - B (P float64).
 * @param rows - Output: the shell's row indices (room for N int32).
 * @param out - The scalars (float64).
 */
export function rescan(
  x: usize,
  p: i32,
  losses: usize,
  n: i32,
  ref: usize,
  rounding: f64,
  delta: f64,
  insideBelow: f64,
  outsideAbove: f64,
  list: usize,
  a: usize,
  b: usize,
  rows: usize,
  out: usize
): void {
  const stride = (<usize>p) << 2;
  const grow = 1 + rounding;
  const shrink = 1 - rounding;
  let count: f64 = 0;
  let sl: f64 = 0;
  let q: f64 = 0;
  let ql: f64 = 0;
  let shell: i32 = 0;
  let pending: i32 = 0;
  for (let i: i32 = 0; i < n; i++) {
    const row = x + <usize>i * stride;
    const d2 = <f64>squaredDistance(row, ref, p);
    const far = Math.sqrt(d2 / shrink) + delta;
    if (grow * far * far < insideBelow) {
      const l = load<f32>(losses + ((<usize>i) << 2));
      count += 1;
      sl += l;
      q += d2;
      ql += l * d2;
      const e = list + ((<usize>pending) << 3);
      store<u32>(e, <u32>row);
      store<f32>(e, l, 4);
      if (++pending === BLOCK) {
        addRows(list, pending, ref, a, b, p);
        pending = 0;
      }
      continue;
    }
    const near = Math.sqrt(d2 / grow) - delta;
    if (!(near > 0 && shrink * near * near > outsideAbove)) {
      store<i32>(rows + ((<usize>shell) << 2), i);
      shell++;
    }
  }
  if (pending > 0) {
    addRows(list, pending, ref, a, b, p);
  }
  store<f64>(out, load<f64>(out) + count);
  store<f64>(out, load<f64>(out, 8) + sl, 8);
  store<f64>(out, load<f64>(out, 16) + q, 16);
  store<f64>(out, load<f64>(out, 24) + ql, 24);
  store<f64>(out, <f64>shell, 32);
}

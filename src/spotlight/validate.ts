/**
 * Input and option checks of the Spotlight engine: bad input is refused before
 * any work, with a message that names the problem and says what to do.
 */
import { SpotlightInputError } from './errors';
import { spotlightSizeFromFraction } from './schedule';
import {
  ADAM,
  BACKEND_NAMES,
  DEFAULT_SPOTLIGHT_OPTIONS,
  IResolvedOptions,
  ISpotlightInput,
  ISpotlightParameters,
  SpotlightOptions
} from './types';

/** How many offending indices an error message lists. */
const SHOWN_INDICES = 5;

/**
 * Fill in defaults and check every option.
 *
 * @param options - The caller's options (all optional).
 * @returns Every option, resolved.
 * @throws SpotlightInputError (`bad-option`) naming the option and its valid range.
 */
export function resolveOptions(
  options: SpotlightOptions = {}
): IResolvedOptions {
  const o: IResolvedOptions = { ...DEFAULT_SPOTLIGHT_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) {
      (o as any)[key] = value;
    }
  }
  const fail = (message: string): never => {
    throw new SpotlightInputError('bad-option', message);
  };
  if (
    !isFiniteNumber(o.spotlightSize) ||
    o.spotlightSize <= 0 ||
    o.spotlightSize >= 1
  ) {
    fail(
      `The spotlight size must be a fraction of the examples strictly between 0 and 1 (got ${String(o.spotlightSize)}); the paper used 0.02 for image models and 0.05 for text.`
    );
  }
  if (!Number.isInteger(o.count) || o.count < 1) {
    fail(
      `The number of spotlights must be a whole number ≥ 1 (got ${String(o.count)}).`
    );
  }
  if (!Number.isInteger(o.steps) || o.steps < 1) {
    fail(
      `The number of steps must be a whole number ≥ 1 (got ${String(o.steps)}); the paper used 5000.`
    );
  }
  if (!isFiniteNumber(o.learningRate) || o.learningRate <= 0) {
    fail(
      `The learning rate must be a finite number > 0 (got ${String(o.learningRate)}); the paper used 0.01.`
    );
  }
  if (!Number.isInteger(o.patience) || o.patience < 0) {
    fail(
      `The patience must be a whole number ≥ 0 (got ${String(o.patience)}); the default is 10.`
    );
  }
  if (!isFiniteNumber(o.factor) || o.factor <= 0 || o.factor >= 1) {
    fail(
      `The learning-rate factor must be strictly between 0 and 1 (got ${String(o.factor)}); the default is 0.5.`
    );
  }
  if (!isFiniteNumber(o.finalBarrierFraction) || o.finalBarrierFraction <= 0) {
    fail(
      `The final barrier fraction must be a finite number > 0 (got ${String(o.finalBarrierFraction)}); the default is 0.05.`
    );
  }
  if (!isFiniteNumber(o.barrierScale) || o.barrierScale <= 0) {
    fail(
      `The barrier scale must be a finite number > 0 (got ${String(o.barrierScale)}); the default is 1.`
    );
  }
  if (!isFiniteNumber(o.initialPrecision) || o.initialPrecision <= 0) {
    fail(
      `The initial precision must be a finite number > 0 (got ${String(o.initialPrecision)}); the default is 1e-4.`
    );
  }
  if (o.backend !== 'auto' && !BACKEND_NAMES.includes(o.backend)) {
    fail(
      `The backend must be one of auto, webgl, wasm or cpu (got ${String(o.backend)}).`
    );
  }
  if (typeof o.pruning !== 'boolean') {
    fail(
      `The pruning option must be true or false (got ${String(o.pruning)}).`
    );
  }
  if (typeof o.signedLosses !== 'boolean') {
    fail(
      `The signedLosses option must be true or false (got ${String(o.signedLosses)}).`
    );
  }
  if (typeof o.collapseGuard !== 'boolean') {
    fail(
      `The collapseGuard option must be true or false (got ${String(o.collapseGuard)}).`
    );
  }
  return o;
}

/**
 * Check the data against the resolved options: types, shape, spotlight size,
 * finiteness and signs. Runs in O(N · D) without allocating.
 *
 * @param input - The data.
 * @param options - Resolved options.
 * @returns The parameters the search will report.
 * @throws SpotlightInputError with a code naming the problem.
 */
export function validateInput(
  input: ISpotlightInput,
  options: IResolvedOptions
): ISpotlightParameters {
  if (typeof input !== 'object' || input === null) {
    throw new SpotlightInputError(
      'bad-type',
      'The search input must be an object { embeddings, losses, n, d }.'
    );
  }
  const { embeddings, losses, n, d } = input;
  if (!(embeddings instanceof Float32Array)) {
    throw new SpotlightInputError(
      'bad-type',
      'The embeddings must be a Float32Array (row-major N × D); convert them with Float32Array.from(...).'
    );
  }
  if (!(losses instanceof Float32Array)) {
    throw new SpotlightInputError(
      'bad-type',
      'The losses must be a Float32Array of length N; convert them with Float32Array.from(...).'
    );
  }
  if (!Number.isInteger(d) || d < 0) {
    throw new SpotlightInputError(
      'bad-shape',
      `The embedding dimension D must be a whole number (got ${String(d)}).`
    );
  }
  if (d === 0) {
    throw new SpotlightInputError(
      'empty-dimension',
      'The embeddings have dimension D = 0: pass at least one feature per example (the output of the layer before the model’s last linear layer).'
    );
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new SpotlightInputError(
      'bad-shape',
      `The number of examples N must be a whole number ≥ 1 (got ${String(n)}).`
    );
  }
  if (embeddings.length !== n * d) {
    throw new SpotlightInputError(
      'bad-shape',
      `The embeddings hold ${embeddings.length} values but N × D = ${n} × ${d} = ${n * d}: pass a row-major N × D array with the N and D it was made with.`
    );
  }
  let scanned: { count: number; first: number[] } | null = null;
  return validateScanned(n, d, losses, options, {
    get nonFinite() {
      scanned ??= scanNonFinite(embeddings);
      return scanned;
    },
    allRowsEqual: () => allRowsEqual(embeddings, n, d)
  });
}

/**
 * What validation needs to know of the embeddings without holding them (the
 * shards of the sharded engine scan their own rows; shard.ts).
 */
export interface IEmbeddingScan {
  /**
   * NaN/±Inf values of X: how many, and the first few flat indices
   * (row · D + column) in row order.
   */
  readonly nonFinite: { count: number; first: number[] };
  /** Whether every row of X equals the first (asked last). */
  allRowsEqual(): boolean;
}

/**
 * `validateInput`'s checks from N, D, the losses and a scan of the
 * embeddings, in the same order and with the same messages.
 *
 * @param n - N (a whole number ≥ 1).
 * @param d - D (a whole number ≥ 1).
 * @param losses - ℓ (N), float32.
 * @param options - Resolved options.
 * @param scan - The embeddings' scan.
 * @returns The parameters the search will report.
 * @throws SpotlightInputError with a code naming the problem.
 */
export function validateScanned(
  n: number,
  d: number,
  losses: Float32Array,
  options: IResolvedOptions,
  scan: IEmbeddingScan
): ISpotlightParameters {
  if (!(losses instanceof Float32Array)) {
    throw new SpotlightInputError(
      'bad-type',
      'The losses must be a Float32Array of length N; convert them with Float32Array.from(...).'
    );
  }
  if (losses.length !== n) {
    throw new SpotlightInputError(
      'bad-shape',
      `There are ${losses.length} losses for N = ${n} embeddings: pass exactly one loss per example, in the same order.`
    );
  }
  const size = spotlightSizeFromFraction(options.spotlightSize, n);
  if (size < 1 || size >= n) {
    const lo = 1 / n;
    throw new SpotlightInputError(
      'too-few-examples',
      `A spotlight size of ${options.spotlightSize} of N = ${n} examples gives S = ${size}, but S must satisfy 1 ≤ S < N: ` +
        (size < 1
          ? `use a fraction ≥ ${lo.toPrecision(3)} or more examples.`
          : 'use a smaller fraction or more examples.')
    );
  }
  const badEmb = scan.nonFinite;
  if (badEmb.count > 0) {
    const where = badEmb.first
      .slice(0, SHOWN_INDICES)
      .map(k => `row ${Math.floor(k / d)} column ${k % d}`)
      .join(', ');
    throw new SpotlightInputError(
      'non-finite-embeddings',
      `The embeddings contain ${badEmb.count} NaN or infinite value${badEmb.count === 1 ? '' : 's'} (first at ${where}): drop or repair those rows before searching.`
    );
  }
  const badLoss = scanNonFinite(losses);
  if (badLoss.count > 0) {
    throw new SpotlightInputError(
      'non-finite-losses',
      `The losses contain ${badLoss.count} NaN or infinite value${badLoss.count === 1 ? '' : 's'} (first at index ${badLoss.first.join(', ')}): drop or repair those examples (e.g. clip the model's probabilities before taking the log).`
    );
  }
  const negative = options.signedLosses
    ? { count: 0, first: [] }
    : scanNegative(losses);
  if (negative.count > 0) {
    throw new SpotlightInputError(
      'negative-losses',
      `The losses contain ${negative.count} negative value${negative.count === 1 ? '' : 's'} (first at index ${negative.first.join(', ')}): the Spotlight needs per-example losses ≥ 0, such as cross-entropy.`
    );
  }
  let lowest = Infinity;
  let highest = -Infinity;
  for (let i = 0; i < n; i++) {
    lowest = Math.min(lowest, losses[i]);
    highest = Math.max(highest, losses[i]);
  }
  if (Math.max(highest, -lowest) > MAX_LOSS) {
    const extreme = highest > -lowest ? highest : lowest;
    throw new SpotlightInputError(
      'huge-losses',
      `The losses reach ${extreme.toExponential(2)}: losses above ${MAX_LOSS.toExponential(0)} overflow the search's arithmetic. Cap them (e.g. np.minimum(losses, 100)) or drop those examples.`
    );
  }
  if (lowest === highest) {
    throw new SpotlightInputError(
      'constant-losses',
      `All ${n.toLocaleString('en-US')} losses are equal (${highest}): every region has the same mean loss, so there is nothing to find. Pass the model's per-example losses (e.g. cross-entropy of each example).`
    );
  }
  if (scan.allRowsEqual()) {
    throw new SpotlightInputError(
      'constant-embeddings',
      `All ${n.toLocaleString('en-US')} embeddings are the same vector: the Spotlight needs representations that differ between examples (e.g. the model's last hidden layer).`
    );
  }
  return {
    spotlightSize: options.spotlightSize,
    size,
    count: options.count,
    steps: options.steps,
    learningRate: options.learningRate,
    patience: options.patience,
    factor: options.factor,
    finalBarrierFraction: options.finalBarrierFraction,
    initialBarrier: n - size,
    finalBarrier: options.finalBarrierFraction * size,
    barrierScale: options.barrierScale,
    initialPrecision: options.initialPrecision,
    beta1: ADAM.beta1,
    beta2: ADAM.beta2,
    epsilon: ADAM.epsilon,
    backend: options.backend
  };
}

/**
 * The largest loss accepted: float32 sums of kernel-weighted losses times
 * embeddings must stay far from float32's 3.4e38.
 */
export const MAX_LOSS = 1e30;

/**
 * Whether every row equals the first.
 *
 * @param x - Row-major N × D values.
 * @param n - N.
 * @param d - D.
 * @returns True when all rows are identical.
 */
function allRowsEqual(x: Float32Array, n: number, d: number): boolean {
  for (let i = 1; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      if (x[o + j] !== x[j]) {
        return false;
      }
    }
  }
  return true;
}

/**
 * Whether a value is a finite number.
 *
 * @param x - Anything.
 * @returns True for a finite number.
 */
function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/**
 * Count the NaN and ±Inf entries and keep the first few indices
 * (x − x is NaN exactly for those: one subtraction per entry).
 *
 * @param values - The array.
 * @returns The count and up to `SHOWN_INDICES` first indices.
 */
function scanNonFinite(values: Float32Array): {
  count: number;
  first: number[];
} {
  let count = 0;
  const first: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x - x !== 0) {
      count++;
      if (first.length < SHOWN_INDICES) {
        first.push(i);
      }
    }
  }
  return { count, first };
}

/**
 * Count the negative entries and keep the first few indices.
 *
 * @param values - The array (finite).
 * @returns The count and up to `SHOWN_INDICES` first indices.
 */
function scanNegative(values: Float32Array): {
  count: number;
  first: number[];
} {
  let count = 0;
  const first: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0) {
      count++;
      if (first.length < SHOWN_INDICES) {
        first.push(i);
      }
    }
  }
  return { count, first };
}

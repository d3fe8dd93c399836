/**
 * The JSON written by `spotlight-search`, version 1: its TypeScript type, its
 * JSON Schema (printed by `spotlight-search --schema`) and the conversion from
 * an engine result.
 *
 * Layout (all lengths fixed by `n`, `d` and `parameters.steps`):
 *
 *   version     1 — bumped on any incompatible change
 *   tool        "spotlight-search"
 *   backend     "wasm" | "cpu" | "webgl" — the backend that ran
 *   backendReason  why it ran (and why others did not)
 *   n, d        number of examples N and embedding dimension D
 *   parameters  the search parameters (size S, fraction, steps T, learning
 *               rate, patience, factor, barrier widths and scale, τ₀, Adam's β1, β2, ε)
 *   timings     { totalMs, perSpotlightMs[] }
 *   spotlights  one object per spotlight, in the order found:
 *     center            μ, D numbers
 *     precision         τ = 1/r²;  radius r
 *     totalWeight       K = Σ k_i;  supportSize #{k_i > 0}
 *     weightedLoss      Σ k_i ℓ_i / K on the (damped) losses it optimised
 *     weightedLossOriginal  the same on the original losses
 *     initialPrecision  τ₀ used;  startAdjusted  whether τ₀ was lowered (K₀ = 0)
 *     guardSteps        steps the collapse guard rejected (each would have
 *                       left the total weight K below the spotlight size S)
 *     kernelWeights     k, N numbers in [0, 1] (float32 precision, 9 digits)
 *     history           { objective[T], totalWeight[T], learningRate[T] }
 *     timeMs
 *   error       only when a spotlight failed after others were found:
 *               { spotlight (from 1), code, message }; `spotlights` holds
 *               the ones found before it (the CLI then exits with 3)
 */
import type { ISpotlightParameters, ISpotlightResult } from '../spotlight';

/** The version of the layout below. */
export const RESULT_VERSION = 1;

/** One spotlight in the JSON result. */
export interface ISpotlightJson {
  center: number[];
  precision: number;
  radius: number;
  totalWeight: number;
  supportSize: number;
  weightedLoss: number;
  weightedLossOriginal: number;
  initialPrecision: number;
  startAdjusted: boolean;
  guardSteps: number;
  kernelWeights: number[];
  history: {
    objective: number[];
    totalWeight: number[];
    learningRate: number[];
  };
  timeMs: number;
}

/** The JSON result, version 1. */
export interface ISearchResultJson {
  version: 1;
  tool: 'spotlight-search';
  backend: string;
  backendReason: string;
  n: number;
  d: number;
  parameters: ISpotlightParameters;
  timings: { totalMs: number; perSpotlightMs: number[] };
  spotlights: ISpotlightJson[];
  /** Only when a spotlight failed after others were found. */
  error?: { spotlight: number; code: string; message: string };
}

/**
 * Convert an engine result to the JSON layout.
 *
 * @param result - The engine's result.
 * @returns Plain JSON data (float32 arrays as 9-significant-digit numbers,
 *   which read back to the same float32 values).
 */
export function toJson(result: ISpotlightResult): ISearchResultJson {
  const f32 = (a: Float32Array): number[] =>
    Array.from(a, x => Number(x.toPrecision(9)));
  return {
    version: RESULT_VERSION,
    tool: 'spotlight-search',
    backend: result.backend,
    backendReason: result.backendReason,
    n: result.n,
    d: result.d,
    parameters: { ...result.parameters },
    timings: {
      totalMs: result.timings.totalMs,
      perSpotlightMs: [...result.timings.perSpotlightMs]
    },
    spotlights: result.spotlights.map(s => ({
      center: f32(s.center),
      precision: s.precision,
      radius: s.radius,
      totalWeight: s.totalWeight,
      supportSize: s.supportSize,
      weightedLoss: s.weightedLoss,
      weightedLossOriginal: s.weightedLossOriginal,
      initialPrecision: s.initialPrecision,
      startAdjusted: s.startAdjusted,
      guardSteps: s.guardSteps,
      kernelWeights: f32(s.kernelWeights),
      history: {
        objective: f32(s.history.objective),
        totalWeight: f32(s.history.totalWeight),
        learningRate: f32(s.history.learningRate)
      },
      timeMs: s.timeMs
    }))
  };
}

const numberArray = { type: 'array', items: { type: 'number' } } as const;

/** JSON Schema (draft 2020-12) of `ISearchResultJson`. */
export const RESULT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://github.com/jupyterlab-spotlight/jupyterlab-spotlight/spotlight-search-result-v1.json',
  title: 'spotlight-search result, version 1',
  type: 'object',
  required: [
    'version',
    'tool',
    'backend',
    'n',
    'd',
    'parameters',
    'spotlights'
  ],
  properties: {
    version: { const: 1 },
    tool: { const: 'spotlight-search' },
    backend: { enum: ['webgl', 'wasm', 'cpu'] },
    backendReason: { type: 'string' },
    n: { type: 'integer', minimum: 2, description: 'number of examples N' },
    d: { type: 'integer', minimum: 1, description: 'embedding dimension D' },
    parameters: {
      type: 'object',
      required: [
        'spotlightSize',
        'size',
        'count',
        'steps',
        'learningRate',
        'patience',
        'factor',
        'finalBarrierFraction',
        'initialBarrier',
        'finalBarrier',
        'barrierScale',
        'initialPrecision',
        'beta1',
        'beta2',
        'epsilon',
        'backend'
      ],
      properties: {
        spotlightSize: { type: 'number', description: 'S as a fraction of N' },
        size: { type: 'integer', description: 'S = floor(fraction · N)' },
        count: { type: 'integer' },
        steps: { type: 'integer', description: 'T' },
        learningRate: { type: 'number' },
        patience: { type: 'integer' },
        factor: { type: 'number' },
        finalBarrierFraction: { type: 'number' },
        initialBarrier: { type: 'number', description: 'b_0 = N − S' },
        finalBarrier: { type: 'number', description: 'b_{T−1}' },
        barrierScale: { type: 'number', description: 'c' },
        initialPrecision: { type: 'number', description: 'requested τ₀' },
        beta1: { type: 'number' },
        beta2: { type: 'number' },
        epsilon: { type: 'number' },
        backend: { enum: ['auto', 'webgl', 'wasm', 'cpu'] }
      }
    },
    timings: {
      type: 'object',
      properties: { totalMs: { type: 'number' }, perSpotlightMs: numberArray }
    },
    spotlights: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'center',
          'precision',
          'radius',
          'totalWeight',
          'supportSize',
          'weightedLoss',
          'weightedLossOriginal',
          'initialPrecision',
          'startAdjusted',
          'guardSteps',
          'kernelWeights',
          'history'
        ],
        properties: {
          center: { ...numberArray, description: 'μ, length d' },
          precision: {
            type: 'number',
            exclusiveMinimum: 0,
            description: 'τ = 1/r²'
          },
          radius: { type: 'number', exclusiveMinimum: 0 },
          totalWeight: {
            type: 'number',
            exclusiveMinimum: 0,
            description: 'K = Σ k'
          },
          supportSize: { type: 'integer', minimum: 1 },
          weightedLoss: {
            type: 'number',
            description: 'on the damped losses optimised'
          },
          weightedLossOriginal: {
            type: 'number',
            description: 'on the original losses'
          },
          initialPrecision: { type: 'number' },
          startAdjusted: { type: 'boolean' },
          guardSteps: {
            type: 'integer',
            minimum: 0,
            description:
              'steps the collapse guard rejected: each would have left the total weight K below the spotlight size S'
          },
          kernelWeights: {
            type: 'array',
            items: { type: 'number', minimum: 0, maximum: 1 },
            description: 'k, length n'
          },
          history: {
            type: 'object',
            required: ['objective', 'totalWeight', 'learningRate'],
            properties: {
              objective: numberArray,
              totalWeight: numberArray,
              learningRate: numberArray
            }
          },
          timeMs: { type: 'number' }
        }
      }
    },
    error: {
      type: 'object',
      description:
        'only when a spotlight failed after others were found (exit code 3): spotlights holds the ones found before it',
      required: ['spotlight', 'code', 'message'],
      properties: {
        spotlight: {
          type: 'integer',
          minimum: 2,
          description: 'the spotlight that failed, from 1'
        },
        code: { type: 'string' },
        message: { type: 'string' }
      }
    }
  }
} as const;

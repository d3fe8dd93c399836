/**
 * The Spotlight search engine (d'Eon et al. 2021) on TensorFlow.js and plain
 * JavaScript: pure, with no DOM or JupyterLab imports; runs in the browser and
 * in Node.
 */
export * from './types';
export * from './errors';
export {
  barrierSchedule,
  barrierWidth,
  sizePenalty,
  spotlightSizeFromFraction
} from './schedule';
export {
  dampLosses,
  kernelWeights,
  kernelWeightsInto,
  normalizeWeights,
  squaredNorms,
  weightStats
} from './kernel';
export { resolveOptions, validateInput } from './validate';
export {
  createMoments,
  evaluateObjective,
  HostKernel,
  IHostKernelOptions,
  IKernelStats,
  IMoments,
  IObjectiveKernel,
  IObjectiveValue,
  SHELL_MARGIN,
  TensorKernel
} from './objective';
export { Adam, PlateauRule } from './optimizer';
export {
  configureWasmPaths,
  defaultEnvironment,
  IBackendAttempt,
  IBackendEnvironment,
  IBackendSelection,
  IRendererInfo,
  isSoftwareRenderer,
  probeWebGL,
  selectBackend,
  WASM_MEMORY_BUDGET,
  wasmMemoryEstimate
} from './backend';
export { findSpotlights } from './engine';

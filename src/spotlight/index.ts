/**
 * The Spotlight search engine (d'Eon et al. 2021) on TensorFlow.js (WebGL), our
 * WebAssembly SIMD kernel and plain JavaScript: pure, with no DOM or JupyterLab imports; runs in the browser and
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
export {
  IEmbeddingScan,
  resolveOptions,
  validateInput,
  validateScanned
} from './validate';
export {
  createMoments,
  evaluateObjective,
  IKernelStats,
  IMoments,
  IObjectiveKernel,
  IObjectiveValue
} from './objective';
// TensorKernel (the webgl backend) is not re-exported: importing it loads
// TensorFlow.js; import it from './tensorKernel' where needed.
export {
  IShellKernelOptions,
  SHELL_MARGIN,
  SHELL_MARGIN_RANGE,
  ShellKernel
} from './shellKernel';
export { HostKernel, IHostKernelOptions } from './hostKernel';
export {
  distanceRounding,
  loadWasmKernel,
  paddedDimension,
  WASM_MEMORY_BUDGET,
  WasmKernel,
  wasmMemoryEstimate
} from './wasmKernel';
export { Adam, PlateauRule } from './optimizer';
export {
  defaultEnvironment,
  FLOAT32_NORM_LIMIT,
  IBackendAttempt,
  IBackendEnvironment,
  IBackendSelection,
  IRendererInfo,
  isSoftwareRenderer,
  probeWebGL,
  selectBackend
} from './backend';
export {
  findSpotlights,
  findSpotlightsInShards,
  findSpotlightsSharded,
  IShardingOptions,
  shardLayout
} from './engine';
export {
  coverNodes,
  foldNodes,
  INodeValues,
  IRowTree,
  leafRows,
  rowTree
} from './blocks';
export {
  IShardEndpoint,
  IShardEnvelope,
  IShardScan,
  serveShard,
  SHARD_PROTOCOL_VERSION,
  shardBounds,
  ShardLayout,
  ShardReply,
  ShardRequest,
  ShardResponse,
  ShardWorker
} from './shard';
export {
  InProcessShardTransport,
  IShardPoolOptions,
  IShardTransport,
  ShardPool,
  ShardTransportFactory
} from './shardPool';
export {
  IMessageEndpoint,
  serveShardOnScope,
  WorkerShardTransport
} from './workerTransport';
export {
  INullControl,
  INullOptions,
  nullDistribution,
  permutationPValue,
  permuteInto,
  signFlipInto,
  uniform
} from './significance';

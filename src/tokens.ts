/** The roles a kernel variable can play in an audit. */
export type Role =
  'embeddings' | 'losses' | 'labels' | 'predictions' | 'examples' | 'metadata';

/** All roles, in the order the panel shows their pickers. */
export const ROLES: readonly Role[] = [
  'embeddings',
  'losses',
  'labels',
  'predictions',
  'examples',
  'metadata'
];

/** One variable of the kernel's user namespace, as listed by the helper. */
export interface IVariable {
  /** The variable's name in the user namespace. */
  name: string;
  /** Qualified class name, e.g. `numpy.ndarray`. */
  type: string;
  /** Shape, or null when it has none. */
  shape: number[] | null;
  /** Element type as the kernel names it, or null. */
  dtype: string | null;
  /** Size of the data in bytes, or null when unknown. */
  nbytes: number | null;
  /** Number of rows (first dimension), or null. */
  length: number | null;
  /** Roles the variable could play. */
  roles: Role[];
}

/** The variable names chosen for an audit. */
export interface ISelection {
  embeddings: string | null;
  losses: string | null;
  labels: string | null;
  predictions: string | null;
  examples: string | null;
  metadata: string | null;
}

/** Search options, as stored in the settings (schema/plugin.json). */
export interface IAuditOptions {
  /** Spotlight size as a fraction of N, in (0, 1). */
  spotlightSize: number;
  /** Number of spotlights to find. */
  count: number;
  /** Adam steps per spotlight. */
  steps: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Barrier scale c of the size penalty. */
  barrierScale: number;
  /** tfjs backend preference. */
  backend: 'auto' | 'webgl' | 'wasm' | 'cpu';
}

/** Panel-wide settings that are not search options. */
export interface IPanelSettings {
  /** Largest array pulled from the kernel, in bytes. */
  transferBudgetBytes: number;
  /** Maximum number of points drawn in the 2-D map. */
  maxMapPoints: number;
}

/** Default options: the paper's own runs (d'Eon et al. 2021). */
export const DEFAULT_OPTIONS: IAuditOptions = {
  spotlightSize: 0.02,
  count: 5,
  steps: 5000,
  learningRate: 0.01,
  barrierScale: 1,
  backend: 'auto'
};

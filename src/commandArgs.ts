/**
 * Checks on the arguments of the Spotlight commands (pure: no JupyterLab).
 */

/**
 * The arguments each command takes. A command refuses any other argument,
 * naming it, rather than ignoring it.
 */
export const COMMAND_ARGUMENTS = {
  open: [],
  listVariables: [],
  run: [
    'embeddings',
    'losses',
    'referenceLosses',
    'labels',
    'predictions',
    'referencePredictions',
    'examples',
    'metadata',
    'metadataColumns',
    'spotlightSize',
    'count',
    'steps',
    'learningRate',
    'barrierScale',
    'backend',
    'direction',
    'permutations',
    'alpha',
    'holdout',
    'seed',
    'components',
    'workers'
  ],
  cancel: [],
  inspectRegion: ['region', 'activate'],
  saveFinding: ['region'],
  exportRegion: ['region', 'name'],
  openFindings: ['discard'],
  openAuditView: ['activate'],
  addRegion: ['indices', 'name']
} as const;

/**
 * Arguments JupyterLab itself adds when a command runs from its UI (a
 * toolbar button adds `toolbar: true`): taken by every command, unused.
 */
export const ORIGIN_ARGUMENTS: readonly string[] = ['toolbar'];

/**
 * The arguments given that a command does not take.
 *
 * @param args - The arguments given (a JSON object; `null`/`undefined`: none).
 * @param allowed - The names the command takes.
 * @returns The unknown names, in the order given; empty when all are known.
 */
export function unknownArguments(
  args: Readonly<Record<string, unknown>> | null | undefined,
  allowed: readonly string[]
): string[] {
  return Object.keys(args ?? {}).filter(
    key => !allowed.includes(key) && !ORIGIN_ARGUMENTS.includes(key)
  );
}

/**
 * The sentence that refuses unknown arguments.
 *
 * @param command - The command id, e.g. `jupyterlab-spotlight:run`.
 * @param unknown - The unknown names (non-empty).
 * @param allowed - The names the command takes.
 * @returns E.g. "jupyterlab-spotlight:run does not take the argument 'step';
 *   it takes: steps, count. Nothing was done."
 */
export function unknownArgumentsMessage(
  command: string,
  unknown: readonly string[],
  allowed: readonly string[]
): string {
  const names = unknown.map(name => `'${name}'`).join(', ');
  const takes = allowed.length
    ? `it takes: ${allowed.join(', ')}`
    : 'it takes no arguments';
  return `${command} does not take the argument${unknown.length > 1 ? 's' : ''} ${names}; ${takes}. Nothing was done.`;
}

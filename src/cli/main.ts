/**
 * `spotlight-search`: the Spotlight search (d'Eon et al. 2021) from the
 * command line, on the same engine as the JupyterLab panel, in Node (WASM or
 * the plain-JavaScript CPU backend).
 *
 *   spotlight-search --embeddings E.npy --losses L.npy [--spotlight-size 0.02]
 *     [--count 5] [--steps 5000] [--learning-rate 0.01] [--barrier-scale 1]
 *     [--backend auto|wasm|cpu] [--out result.json]
 *
 * Progress goes to stderr, the result (JSON, schema.ts, version 1) to --out
 * or stdout. Exit codes: 0 success; 1 the search failed; 2 bad usage or bad
 * input (a one-line message on stderr names the problem); 3 a later spotlight
 * failed after others were found: the JSON holds those and an `error` object
 * naming the failed one.
 */
import { readFile, writeFile } from 'node:fs/promises';

import { Command, CommanderError, InvalidArgumentError } from 'commander';

import {
  DEFAULT_SPOTLIGHT_OPTIONS,
  findSpotlights,
  ISpotlightProgress,
  ISpotlightResult,
  SpotlightInputError,
  SpotlightOptions,
  SpotlightRunError
} from '../spotlight';
import { NpyError, readNpy } from './npy';
import { ISearchResultJson, RESULT_SCHEMA, toJson } from './schema';

/** Where the CLI writes, and how it reads files (tests substitute these). */
export interface ICliIO {
  /** Write to standard output. */
  stdout(text: string): void;
  /** Write to standard error. */
  stderr(text: string): void;
  /** Read a whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Write a whole file. */
  writeFile(path: string, text: string): Promise<void>;
}

/** Exit codes. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, partial: 3 });

/** Process streams and the file system. */
export const nodeIO: ICliIO = {
  stdout: text => void process.stdout.write(text),
  stderr: text => void process.stderr.write(text),
  readFile: path => readFile(path),
  writeFile: (path, text) => writeFile(path, text, 'utf8')
};

/** The options the command line gives. */
export interface ICliOptions {
  embeddings: string;
  losses: string;
  spotlightSize: number;
  count: number;
  steps: number;
  learningRate: number;
  barrierScale: number;
  patience: number;
  factor: number;
  finalBarrierFraction: number;
  initialPrecision: number;
  backend: 'auto' | 'wasm' | 'cpu';
  collapseGuard: boolean;
  out?: string;
  quiet: boolean;
}

/**
 * Run the command.
 *
 * @param argv - The arguments after the program name.
 * @param io - Output streams and file access.
 * @returns The exit code.
 */
export async function run(
  argv: string[],
  io: ICliIO = nodeIO
): Promise<number> {
  const usage = (message: string): number => {
    io.stderr(`spotlight-search: ${oneLine(message)}\n`);
    return EXIT.usage;
  };
  let options: ICliOptions | 'done';
  try {
    options = await Private.parse(argv, io);
  } catch (error) {
    if (error instanceof CommanderError) {
      return usage(error.message.replace(/^error:\s*/, ''));
    }
    throw error;
  }
  if (options === 'done') {
    return EXIT.ok;
  }

  let embeddings, losses;
  try {
    embeddings = readNpy(
      await Private.read(io, options.embeddings),
      `--embeddings ${options.embeddings}`
    );
    losses = readNpy(
      await Private.read(io, options.losses),
      `--losses ${options.losses}`
    );
  } catch (error) {
    if (error instanceof NpyError || error instanceof Private.FileError) {
      return usage(error.message);
    }
    throw error;
  }
  if (embeddings.shape.length !== 2) {
    return usage(
      `--embeddings ${options.embeddings} has shape (${embeddings.shape.join(', ')}), but it must be 2-D: N examples × D features.`
    );
  }
  const [n, d] = embeddings.shape;
  const lossShape = losses.shape;
  const flat =
    lossShape.length === 1 ||
    (lossShape.length === 2 && (lossShape[0] === 1 || lossShape[1] === 1));
  if (!flat) {
    return usage(
      `--losses ${options.losses} has shape (${lossShape.join(', ')}), but it must hold one loss per example: shape (N,).`
    );
  }

  const search: SpotlightOptions = {
    spotlightSize: options.spotlightSize,
    count: options.count,
    steps: options.steps,
    learningRate: options.learningRate,
    barrierScale: options.barrierScale,
    patience: options.patience,
    factor: options.factor,
    finalBarrierFraction: options.finalBarrierFraction,
    initialPrecision: options.initialPrecision,
    backend: options.backend,
    collapseGuard: options.collapseGuard
  };
  const started = Date.now();
  let lastReport = 0;
  const onProgress = (p: ISpotlightProgress) => {
    const time = Date.now();
    if (options.quiet || (time - lastReport < 1000 && p.step !== p.steps - 1)) {
      return;
    }
    lastReport = time;
    io.stderr(
      `spotlight ${p.spotlight + 1}/${p.count}  step ${p.step + 1}/${p.steps}  ` +
        `J ${p.objective.toFixed(5)}  K ${p.totalWeight.toFixed(2)}  ` +
        `f ${p.weightedLoss.toFixed(5)}  lr ${p.learningRate.toExponential(2)}\n`
    );
  };

  let result: ISpotlightResult;
  let failure: ISearchResultJson['error'];
  try {
    result = await findSpotlights(
      { embeddings: embeddings.data, losses: losses.data, n, d },
      search,
      {
        onProgress,
        progressIntervalMs: 250
      }
    );
  } catch (error) {
    if (error instanceof SpotlightInputError) {
      return usage(error.message);
    }
    io.stderr(
      `spotlight-search: the search failed: ${oneLine(Private.message(error))}\n`
    );
    if (!(error instanceof SpotlightRunError && error.partial)) {
      return EXIT.failed;
    }
    // Keep what was found before the failure.
    result = error.partial as ISpotlightResult;
    failure = {
      spotlight: (error.failedSpotlight ?? result.spotlights.length) + 1,
      code: error.code,
      message: error.message
    };
    io.stderr(
      `spotlight-search: writing the ${result.spotlights.length} spotlight(s) found before spotlight ${failure.spotlight} failed (exit code ${EXIT.partial}).\n`
    );
  }

  const json = toJson(result);
  if (failure) {
    json.error = failure;
  }
  const text = JSON.stringify(json);
  if (options.out) {
    try {
      await io.writeFile(options.out, text);
    } catch (error) {
      io.stderr(
        `spotlight-search: cannot write ${options.out}: ${oneLine(Private.message(error))}\n`
      );
      return EXIT.failed;
    }
  } else {
    io.stdout(text + '\n');
  }
  if (!options.quiet) {
    io.stderr(
      `spotlight-search: ${result.spotlights.length} spotlight(s) on ${result.backend} in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s (${result.backendReason})` +
        (options.out ? `; wrote ${options.out}` : '') +
        '\n'
    );
  }
  const guarded = result.spotlights.filter(s => s.guardSteps > 0);
  if (guarded.length && !options.quiet) {
    io.stderr(
      `spotlight-search: the collapse guard acted in spotlight(s) ${guarded
        .map(s => `${result.spotlights.indexOf(s) + 1} (${s.guardSteps} steps)`)
        .join(
          ', '
        )}: steps that would have shrunk the ball below the spotlight size S were rejected.\n`
    );
  }
  return failure ? EXIT.partial : EXIT.ok;
}

/**
 * Collapse a message to one line.
 *
 * @param text - Any message.
 * @returns The message without line breaks.
 */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Helpers. */
namespace Private {
  /** A file that cannot be read. */
  export class FileError extends Error {}

  /**
   * A number parser for commander that refuses what is not a number.
   *
   * @param kind - 'integer' or 'number'.
   * @returns The parser.
   */
  export function numberParser(
    kind: 'integer' | 'number'
  ): (value: string) => number {
    return (value: string) => {
      const x = Number(value);
      if (value.trim() === '' || !Number.isFinite(x)) {
        throw new InvalidArgumentError(`'${value}' is not a number.`);
      }
      if (kind === 'integer' && !Number.isInteger(x)) {
        throw new InvalidArgumentError(`'${value}' is not a whole number.`);
      }
      return x;
    };
  }

  /**
   * Parse the arguments.
   *
   * @param argv - Arguments after the program name.
   * @param io - For --help, --version and --schema.
   * @returns The options, or 'done' after --help/--schema.
   * @throws CommanderError on bad usage.
   */
  export async function parse(
    argv: string[],
    io: ICliIO
  ): Promise<ICliOptions | 'done'> {
    const D = DEFAULT_SPOTLIGHT_OPTIONS;
    const program = new Command()
      .name('spotlight-search')
      .description(
        "Find high-loss regions in a model's embedding space with the Spotlight method (d'Eon et al. 2021).\n" +
          'Writes JSON (version 1; print its schema with --schema) to --out or stdout; progress goes to stderr.'
      )
      .option(
        '--embeddings <file>',
        'N × D embeddings, .npy as np.save writes it: float16/32/64, (u)int8–64 or bool, either byte order, C or Fortran order; converted to float32 as astype(np.float32) does'
      )
      .option(
        '--losses <file>',
        'N per-example losses ≥ 0, .npy (same dtypes as --embeddings), shape (N,) or (N, 1)'
      )
      .option(
        '--spotlight-size <fraction>',
        'spotlight size as a fraction of N, in (0, 1)',
        numberParser('number'),
        D.spotlightSize
      )
      .option(
        '--count <n>',
        'number of spotlights',
        numberParser('integer'),
        D.count
      )
      .option(
        '--steps <n>',
        'Adam steps per spotlight',
        numberParser('integer'),
        D.steps
      )
      .option(
        '--learning-rate <lr>',
        'initial learning rate',
        numberParser('number'),
        D.learningRate
      )
      .option(
        '--barrier-scale <c>',
        'barrier scale of the size penalty',
        numberParser('number'),
        D.barrierScale
      )
      .option(
        '--patience <n>',
        'plateau rule: steps without improvement',
        numberParser('integer'),
        D.patience
      )
      .option(
        '--factor <f>',
        'plateau rule: learning-rate factor',
        numberParser('number'),
        D.factor
      )
      .option(
        '--final-barrier-fraction <f>',
        'final barrier width as a fraction of S',
        numberParser('number'),
        D.finalBarrierFraction
      )
      .option(
        '--initial-precision <tau>',
        'initial precision τ₀',
        numberParser('number'),
        D.initialPrecision
      )
      .option('--backend <name>', 'auto, wasm or cpu', 'auto')
      .option(
        '--no-collapse-guard',
        "the paper's optimiser without the collapse guard (for comparisons): a step may empty the ball"
      )
      .option('--out <file>', 'write the JSON result here instead of stdout')
      .option('--quiet', 'no progress on stderr', false)
      .option('--schema', 'print the JSON Schema of the result and exit', false)
      .helpOption('-h, --help', 'show this help')
      .exitOverride()
      .configureOutput({
        writeOut: text => io.stdout(text),
        writeErr: () => undefined
      })
      .allowExcessArguments(false);
    try {
      await program.parseAsync(argv, { from: 'user' });
    } catch (error) {
      if (
        error instanceof CommanderError &&
        error.code === 'commander.helpDisplayed'
      ) {
        return 'done';
      }
      throw error;
    }
    const o = program.opts();
    if (o.schema) {
      io.stdout(JSON.stringify(RESULT_SCHEMA, null, 2) + '\n');
      return 'done';
    }
    if (!o.embeddings || !o.losses) {
      throw new CommanderError(
        EXIT.usage,
        'missing',
        `${!o.embeddings ? '--embeddings' : '--losses'} is required: spotlight-search --embeddings E.npy --losses L.npy (see --help).`
      );
    }
    if (!['auto', 'wasm', 'cpu'].includes(o.backend)) {
      throw new CommanderError(
        EXIT.usage,
        'backend',
        `--backend must be auto, wasm or cpu (got '${o.backend}'); WebGL needs a browser.`
      );
    }
    return {
      embeddings: o.embeddings,
      losses: o.losses,
      spotlightSize: o.spotlightSize,
      count: o.count,
      steps: o.steps,
      learningRate: o.learningRate,
      barrierScale: o.barrierScale,
      patience: o.patience,
      factor: o.factor,
      finalBarrierFraction: o.finalBarrierFraction,
      initialPrecision: o.initialPrecision,
      backend: o.backend,
      collapseGuard: o.collapseGuard !== false,
      out: o.out,
      quiet: !!o.quiet
    };
  }

  /**
   * Read a file, turning I/O errors into `FileError`.
   *
   * @param io - File access.
   * @param path - The file.
   * @returns Its bytes.
   */
  export async function read(io: ICliIO, path: string): Promise<Uint8Array> {
    try {
      return await io.readFile(path);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES'
            ? 'permission denied'
            : message(error);
      throw new FileError(`cannot read ${path}: ${why}.`);
    }
  }

  /**
   * A readable message for anything thrown.
   *
   * @param error - Anything.
   * @returns Its message.
   */
  export function message(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }
}

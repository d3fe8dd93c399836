/**
 * `spotlight-search`: the Spotlight search (d'Eon et al. 2021) from the
 * command line, on the same engine as the JupyterLab panel, in Node (WASM or
 * the plain-JavaScript CPU backend).
 *
 *   spotlight-search --embeddings E.npy --losses L.npy [--spotlight-size 0.02]
 *     [--count 5] [--steps 5000] [--learning-rate 0.01] [--barrier-scale 1]
 *     [--backend auto|wasm|cpu] [--threads N] [--max-memory 16G] [--out result.json]
 *
 * The search runs on the sharded engine (issue 11): X split by rows over
 * `--threads` worker threads (default: hardware threads − 1), each holding
 * its rows; the .npy files are read by ranges and in blocks straight into the
 * shards (npyFile.ts), after both files' headers and sizes were checked and
 * the memory the search needs was compared with `--max-memory`.
 *
 * Progress goes to stderr, the result (JSON, schema.ts, version 1) to --out
 * or stdout. Exit codes: 0 success; 1 the search failed; 2 bad usage or bad
 * input (a one-line message on stderr names the problem); 3 a later spotlight
 * failed after others were found: the JSON holds those and an `error` object
 * naming the failed one.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';

import { Command, CommanderError, InvalidArgumentError } from 'commander';

import {
  DEFAULT_SPOTLIGHT_OPTIONS,
  findSpotlightsInShards,
  ISpotlightProgress,
  resolveOptions,
  validateScanned,
  ISpotlightResult,
  paddedDimension,
  shardLayout,
  ShardPool,
  ShardTransportFactory,
  SpotlightInputError,
  SpotlightOptions,
  SpotlightRunError
} from '../spotlight';
import { NpyError } from './npy';
import {
  INpySource,
  IRandomAccessFile,
  memoryFile,
  openNodeFile,
  openNpy,
  readNpyRows,
  readNpyValues
} from './npyFile';
import { ISearchResultJson, RESULT_SCHEMA, toJson } from './schema';
import { defaultThreads, nodeWorkerTransports } from './workers';

/** Where the CLI writes, and how it reads files (tests substitute these). */
export interface ICliIO {
  /** Write to standard output. */
  stdout(text: string): void;
  /** Write to standard error. */
  stderr(text: string): void;
  /** Read a whole file (used when `open` is missing). */
  readFile(path: string): Promise<Uint8Array>;
  /** Open a file for ranged reads (default: `readFile`, then ranges of it). */
  open?(path: string): Promise<IRandomAccessFile>;
  /** Write a whole file. */
  writeFile(path: string, text: string): Promise<void>;
  /** Makes the shards' transports (default: in-process shards). */
  shardTransport?: ShardTransportFactory;
  /** Bytes of memory of this machine (default: `os.totalmem()`). */
  totalMemory?: number;
}

/** Exit codes. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, partial: 3 });

/** Process streams and the file system. */
export const nodeIO: ICliIO = {
  stdout: text => void process.stdout.write(text),
  stderr: text => void process.stderr.write(text),
  readFile: path => readFile(path),
  open: path => openNodeFile(path),
  writeFile: (path, text) => writeFile(path, text, 'utf8'),
  get shardTransport() {
    return nodeWorkerTransports();
  }
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
  /** Shard worker threads, ≥ 1. */
  threads: number;
  /** The most memory the search may plan for, in bytes. */
  maxMemory: number;
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

  // Both files: headers and sizes checked before either is loaded.
  const opened: IRandomAccessFile[] = [];
  let embeddings: INpySource, losses: INpySource;
  try {
    embeddings = await Private.openSource(
      io,
      options.embeddings,
      `--embeddings ${options.embeddings}`,
      opened
    );
    losses = await Private.openSource(
      io,
      options.losses,
      `--losses ${options.losses}`,
      opened
    );
  } catch (error) {
    await Private.closeAll(opened);
    if (error instanceof NpyError || error instanceof Private.FileError) {
      return usage(error.message);
    }
    throw error;
  }
  try {
    return await Private.search(io, options, embeddings, losses, usage);
  } finally {
    await Private.closeAll(opened);
  }
}

/**
 * Memory the command plans for a search (bytes): the shards' rows (4·N·P
 * with P = D padded to 16 for the WASM layout, 4·N·D for the CPU one), per
 * row the losses, norms, damped losses and weights (8·count + 40 bytes), and
 * 64 MiB per thread plus 128 MiB for Node itself.
 *
 * @param n - N.
 * @param d - D.
 * @param threads - Shard worker threads.
 * @param layout - `wasm` or `cpu`.
 * @param count - Spotlights.
 * @returns Bytes.
 */
export function estimateMemory(
  n: number,
  d: number,
  threads: number,
  layout: 'wasm' | 'cpu',
  count: number
): number {
  const stride = layout === 'wasm' ? paddedDimension(d) : d;
  return 4 * n * stride + n * (40 + 8 * count) + 2 ** 26 * threads + 2 ** 27;
}

/**
 * The default `--max-memory`: 80 % of this machine's memory.
 *
 * @param total - Bytes of memory.
 * @returns Bytes.
 */
export function defaultMaxMemory(total: number = totalmem()): number {
  return Math.floor(0.8 * total);
}

/**
 * Parse a memory size: bytes, or a number with K, M, G or T (powers of 1024;
 * `G`, `GB`, `GiB` alike).
 *
 * @param text - E.g. `16G`, `1.5GiB`, `800M`, `2000000000`.
 * @returns Bytes.
 * @throws InvalidArgumentError for anything else.
 */
export function parseMemory(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) {
    throw new InvalidArgumentError(
      `'${text}' is not a memory size: write e.g. 16G, 800M or a number of bytes.`
    );
  }
  const power = ' kmgt'.indexOf((match[2] || ' ').toLowerCase());
  const bytes = Number(match[1]) * 1024 ** power;
  if (!(bytes > 0)) {
    throw new InvalidArgumentError(`'${text}' is not a positive memory size.`);
  }
  return Math.floor(bytes);
}

/**
 * Bytes in GB (10⁹), for messages.
 *
 * @param bytes - Bytes.
 * @returns E.g. "3.07 GB".
 */
function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(2)} GB`;
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
  /**
   * Check the shapes and the memory, load the files into the shards and
   * search; write the result.
   *
   * @param io - Streams and files.
   * @param options - The command's options.
   * @param embeddings - The opened embeddings file.
   * @param losses - The opened losses file.
   * @param usage - Reports a usage error and returns its exit code.
   * @returns The exit code.
   */
  export async function search(
    io: ICliIO,
    options: ICliOptions,
    embeddings: INpySource,
    losses: INpySource,
    usage: (message: string) => number
  ): Promise<number> {
    const shape = embeddings.header.shape;
    if (shape.length !== 2) {
      return usage(
        `--embeddings ${options.embeddings} has shape (${shape.join(', ')}), but it must be 2-D: N examples × D features.`
      );
    }
    const [n, d] = shape;
    const lossShape = losses.header.shape;
    const flat =
      lossShape.length === 1 ||
      (lossShape.length === 2 && (lossShape[0] === 1 || lossShape[1] === 1));
    if (!flat) {
      return usage(
        `--losses ${options.losses} has shape (${lossShape.join(', ')}), but it must hold one loss per example: shape (N,).`
      );
    }
    const lossCount = lossShape.reduce((a, b) => a * b, 1);
    if (lossCount !== n) {
      return usage(
        `There are ${lossCount} losses for N = ${n} embeddings: pass exactly one loss per example, in the same order.`
      );
    }
    if (n < 1 || d < 1) {
      return usage(
        `--embeddings ${options.embeddings} has shape (${shape.join(', ')}): it needs at least one example and one feature.`
      );
    }
    const threads = Math.min(options.threads, n);
    const layout = shardLayout(options.backend, n, d, threads);
    const need = estimateMemory(n, d, threads, layout, options.count);
    const total = io.totalMemory ?? totalmem();
    if (need > options.maxMemory) {
      return usage(
        `the search would need about ${gb(need)} of memory (${n.toLocaleString('en-US')} × ${d} embeddings as float32 in ${threads} shard${threads === 1 ? '' : 's'}, with the losses, weights and ${threads} worker thread${threads === 1 ? '' : 's'}), more than --max-memory ${gb(options.maxMemory)} ` +
          `(this machine has ${gb(total)}). Sample rows (e.g. np.save(path, X[::2]) with the matching losses), use a machine with more memory, or raise --max-memory if you know the memory is free.`
      );
    }
    if (embeddings.header.dataBytes > 1e9 && !options.quiet) {
      io.stderr(
        `spotlight-search: loading ${gb(embeddings.header.dataBytes)} of embeddings (${n.toLocaleString('en-US')} × ${d} ${embeddings.header.dtype}) into ${threads} shard${threads === 1 ? '' : 's'}: about ${gb(need)} of memory (--max-memory ${gb(options.maxMemory)}).\n`
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
    let lossValues: Float32Array;
    try {
      lossValues = await readNpyValues(losses);
      // The options and the losses are checked before X is loaded (the
      // embeddings' own checks run on the shards' scans later).
      validateScanned(n, d, lossValues, resolveOptions(search), {
        nonFinite: { count: 0, first: [] },
        allRowsEqual: () => false
      });
    } catch (error) {
      if (error instanceof NpyError || error instanceof SpotlightInputError) {
        return usage(error.message);
      }
      throw error;
    }

    const started = Date.now();
    let lastReport = 0;
    const onProgress = (p: ISpotlightProgress) => {
      const time = Date.now();
      if (
        options.quiet ||
        (time - lastReport < 1000 && p.step !== p.steps - 1)
      ) {
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
    let pool: ShardPool | null = null;
    try {
      pool = await ShardPool.create({
        n,
        d,
        shards: threads,
        transport: io.shardTransport,
        layout,
        pruning: true
      });
      const shards = pool;
      await readNpyRows(embeddings, (start, rows) =>
        shards.loadRows(start, rows, undefined, true)
      );
      result = await findSpotlightsInShards(shards, lossValues, search, {
        onProgress,
        progressIntervalMs: 250
      });
    } catch (error) {
      pool?.dispose();
      pool = null;
      if (error instanceof NpyError) {
        return usage(error.message);
      }
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

    pool?.dispose();
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
          .map(
            s => `${result.spotlights.indexOf(s) + 1} (${s.guardSteps} steps)`
          )
          .join(
            ', '
          )}: steps that would have shrunk the ball below the spotlight size S were rejected.\n`
      );
    }
    return failure ? EXIT.partial : EXIT.ok;
  }

  /**
   * Open an .npy file and check its header and size.
   *
   * @param io - File access.
   * @param path - The file.
   * @param label - For messages.
   * @param opened - Files opened so far (this one is added).
   * @returns The source.
   * @throws FileError when it cannot be opened; NpyError for a bad file.
   */
  export async function openSource(
    io: ICliIO,
    path: string,
    label: string,
    opened: IRandomAccessFile[]
  ): Promise<INpySource> {
    let file: IRandomAccessFile;
    try {
      file = io.open
        ? await io.open(path)
        : memoryFile(await io.readFile(path));
    } catch (error) {
      throw new FileError(`cannot read ${path}: ${why(error)}.`);
    }
    opened.push(file);
    return openNpy(file, label);
  }

  /**
   * Close files, ignoring errors.
   *
   * @param files - The files.
   */
  export async function closeAll(files: IRandomAccessFile[]): Promise<void> {
    for (const file of files) {
      await file.close().catch(() => undefined);
    }
  }

  /**
   * Why a file could not be read, in words.
   *
   * @param error - The file system's error.
   * @returns E.g. "no such file".
   */
  export function why(error: unknown): string {
    const code = (error as { code?: string }).code;
    return code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a directory'
          : message(error);
  }
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
        '--threads <n>',
        'worker threads, each holding a shard of the rows of the embeddings (default: hardware threads − 1, at least 1)',
        numberParser('integer'),
        defaultThreads()
      )
      .option(
        '--max-memory <size>',
        `refuse a search that would need more memory than this, e.g. 16G or 800M (default: 80 % of this machine's memory, here ${(defaultMaxMemory(io.totalMemory) / 2 ** 30).toFixed(1)}G)`,
        parseMemory
      )
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
    if (!(Number.isInteger(o.threads) && o.threads >= 1)) {
      throw new CommanderError(
        EXIT.usage,
        'threads',
        `--threads must be a whole number ≥ 1 (got ${o.threads}).`
      );
    }
    return {
      threads: o.threads,
      maxMemory: o.maxMemory ?? defaultMaxMemory(io.totalMemory),
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
   * A readable message for anything thrown.
   *
   * @param error - Anything.
   * @returns Its message.
   */
  export function message(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }
}

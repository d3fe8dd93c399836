/**
 * The command line on the sharded engine (issue 11, item 5): .npy headers by
 * ranged reads, sizes checked before anything is loaded, blocks converted as
 * `readNpy` converts whole files, the memory refusal and notice, `--threads`.
 */
import { EXIT, ICliIO, parseMemory, run } from '../../cli/main';
import { readNpy } from '../../cli/npy';
import {
  IRandomAccessFile,
  memoryFile,
  openNpy,
  readNpyRows,
  readNpyValues
} from '../../cli/npyFile';
import { IShardTransport } from '../../spotlight';
import { plantedClusters } from '../spotlight/planted';
import { npy, toFortran } from './npyfile';

jest.setTimeout(240000);

/** A file that records the byte ranges read from it. */
function recorded(file: IRandomAccessFile) {
  const reads: [number, number][] = [];
  return {
    reads,
    file: {
      size: file.size,
      read: (position: number, length: number) => {
        reads.push([position, length]);
        return file.read(position, length);
      },
      close: () => file.close()
    } as IRandomAccessFile
  };
}

/** CLI streams and files over in-memory (or fake) files, reads recorded. */
function cliIO(files: Record<string, IRandomAccessFile>) {
  const out: string[] = [];
  const err: string[] = [];
  const reads: Record<string, [number, number][]> = {};
  const io: ICliIO = {
    stdout: t => void out.push(t),
    stderr: t => void err.push(t),
    readFile: async () => {
      throw new Error('the CLI must read by ranges');
    },
    open: async path => {
      if (!(path in files)) {
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      }
      const r = recorded(files[path]);
      reads[path] = r.reads;
      return r.file;
    },
    writeFile: async () => undefined,
    totalMemory: 16 * 2 ** 30
  };
  return { io, reads, stdout: () => out.join(''), stderr: () => err.join('') };
}

const data = plantedClusters(1200, 12, 31, 0.04);
const E = npy(data.embeddings, [data.n, data.d]);
const L = npy(data.losses, [data.n]);
const headerBytes = E.length - data.n * data.d * 4;
const args = ['--embeddings', 'E.npy', '--losses', 'L.npy', '--quiet'];

describe('openNpy and the block readers', () => {
  it('reads the header only (12 bytes, then the header), and checks the size', async () => {
    const r = recorded(memoryFile(E));
    const source = await openNpy(r.file, 'E');
    expect(source.header.shape).toEqual([1200, 12]);
    expect(source.header.dataOffset).toBe(headerBytes);
    expect(r.reads).toEqual([
      [0, 12],
      [0, headerBytes]
    ]);
  });

  it('names both sizes when the file is shorter than its header says', async () => {
    const cut = E.subarray(0, E.length - 10);
    await expect(
      openNpy(memoryFile(cut), '--embeddings E.npy')
    ).rejects.toThrow(
      `--embeddings E.npy is truncated: its header announces shape (1200, 12) of f4, ${E.length.toLocaleString('en-US')} bytes with the header, but the file has ${cut.length.toLocaleString('en-US')} bytes.`
    );
    await expect(openNpy(memoryFile(E.subarray(0, 40)), 'E')).rejects.toThrow(
      /truncated inside its .npy header/
    );
    await expect(openNpy(memoryFile(new Uint8Array(64)), 'E')).rejects.toThrow(
      /not an .npy file/
    );
  });

  const variants: [string, Uint8Array][] = [
    ['<f4 C order', E],
    [
      '<f8 Fortran order',
      npy(toFortran(data.embeddings, data.n, data.d), [data.n, data.d], {
        descr: '<f8',
        fortran: true
      })
    ],
    [
      '>f4 big-endian, misaligned header',
      npy(data.embeddings, [data.n, data.d], { descr: '>f4', align: 3 })
    ],
    [
      '<i8 Fortran order',
      npy(
        toFortran(
          Float64Array.from(data.embeddings, x => Math.round(x * 1e6)),
          data.n,
          data.d
        ),
        [data.n, data.d],
        { descr: '<i8', fortran: true }
      )
    ]
  ];
  for (const [name, bytes] of variants) {
    it(`converts blocks as readNpy converts the whole file (${name})`, async () => {
      const whole = readNpy(bytes, 'X').data;
      const source = await openNpy(memoryFile(bytes), 'X');
      const out = new Float32Array(whole.length);
      const starts: number[] = [];
      // 7 rows of 12 values per block: blocks end mid-file and the last is short.
      await readNpyRows(
        source,
        async (start, rows) => {
          starts.push(start);
          out.set(rows, start * data.d);
        },
        7 * 12 * source.header.width
      );
      expect(starts.length).toBe(Math.ceil(1200 / 7));
      expect(out).toEqual(whole);
    });
  }

  it('reads (N, 1) and (N,) losses in blocks as readNpy does', async () => {
    for (const bytes of [
      L,
      npy(data.losses, [data.n, 1], { descr: '<f8', fortran: true })
    ]) {
      const values = await readNpyValues(await openNpy(memoryFile(bytes), 'L'));
      expect(values).toEqual(readNpy(bytes, 'L').data);
    }
  });
});

describe('spotlight-search on shards', () => {
  it('checks both files before loading either: a truncated losses file stops it before any data is read', async () => {
    const m = cliIO({
      'E.npy': memoryFile(E),
      'L.npy': memoryFile(L.subarray(0, L.length - 4))
    });
    expect(await run(args, m.io)).toBe(EXIT.usage);
    expect(m.stderr()).toMatch(
      /^spotlight-search: --losses L.npy is truncated: .* but the file has [\d,]+ bytes/
    );
    expect(m.stderr().trimEnd().split('\n')).toHaveLength(1);
    // Only the embeddings' header was read.
    expect(m.reads['E.npy'].every(([p, n]) => p + n <= headerBytes)).toBe(true);
  });

  it('refuses a search above --max-memory before loading anything, naming the size and what to do', async () => {
    const m = cliIO({ 'E.npy': memoryFile(E), 'L.npy': memoryFile(L) });
    expect(await run([...args, '--max-memory', '100M'], m.io)).toBe(EXIT.usage);
    const err = m.stderr();
    expect(err).toMatch(
      /the search would need about 0\.\d\d GB of memory \(1,200 × 12 embeddings .*more than --max-memory 0\.10 GB \(this machine has 17\.18 GB\)\. Sample rows/
    );
    expect(err.trimEnd().split('\n')).toHaveLength(1);
    for (const path of ['E.npy', 'L.npy']) {
      expect(m.reads[path].every(([p, n]) => p + n <= headerBytes)).toBe(true);
    }
  });

  it('refuses bad --threads and --max-memory values', async () => {
    for (const [extra, pattern] of [
      [['--threads', '0'], /--threads must be a whole number ≥ 1 \(got 0\)/],
      [['--threads', '1.5'], /'1.5' is not a whole number/],
      [['--max-memory', 'lots'], /'lots' is not a memory size/]
    ] as [string[], RegExp][]) {
      const m = cliIO({ 'E.npy': memoryFile(E), 'L.npy': memoryFile(L) });
      expect(await run([...args, ...extra], m.io)).toBe(EXIT.usage);
      expect(m.stderr()).toMatch(pattern);
    }
    expect(parseMemory('16G')).toBe(16 * 2 ** 30);
    expect(parseMemory('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseMemory('800MB')).toBe(800 * 2 ** 20);
    expect(parseMemory('123')).toBe(123);
  });

  it('says how large a load above 1 GB is, and how much memory it takes, before loading', async () => {
    // A 1.2 GB file that is never read past its header: the shard refuses
    // to start, as one that cannot get the memory would.
    const n = 300000;
    const d = 1000;
    const header = npy(new Float32Array(0), [n, d]);
    const big: IRandomAccessFile = {
      size: header.length + 4 * n * d,
      read: async (position, length) =>
        header.subarray(position, Math.min(header.length, position + length)),
      close: async () => undefined
    };
    const losses = npy(
      Float32Array.from({ length: n }, (_, i) => i % 5),
      [n]
    );
    const m = cliIO({ 'E.npy': big, 'L.npy': memoryFile(losses) });
    m.io.shardTransport = (): IShardTransport => ({
      post: () => undefined,
      listen: (_onResponse, onFailure) =>
        setTimeout(() => onFailure('no memory for the test'), 0),
      terminate: () => undefined
    });
    const code = await run(
      ['--embeddings', 'E.npy', '--losses', 'L.npy', '--threads', '2'],
      m.io
    );
    expect(code).toBe(EXIT.failed);
    const lines = m.stderr().trimEnd().split('\n');
    expect(lines[0]).toBe(
      'spotlight-search: loading 1.20 GB of embeddings (300,000 × 1000 f4) into 2 shards: about 1.50 GB of memory (--max-memory 13.74 GB).'
    );
    expect(lines[1]).toMatch(
      /the search failed: Shard 1 of 2 \(rows 0–151,551: 151,552 × 1000 embeddings, \d+ MiB\) failed during 'init': no memory for the test/
    );
  });

  it('gives the same result with --threads 3 as with --threads 1', async () => {
    const results = [];
    for (const threads of ['1', '3']) {
      const m = cliIO({ 'E.npy': memoryFile(E), 'L.npy': memoryFile(L) });
      expect(
        await run(
          [
            ...args,
            '--threads',
            threads,
            '--count',
            '2',
            '--steps',
            '800',
            '--backend',
            'cpu'
          ],
          m.io
        )
      ).toBe(EXIT.ok);
      results.push(JSON.parse(m.stdout()));
    }
    const [one, three] = results;
    expect(one.backendReason).toMatch(/Sharded: 1 shard of up to 1,200 rows/);
    expect(three.backendReason).toMatch(/Sharded: 3 shards of up to 416 rows/);
    // The shards sum along the same tree as one shard: the same numbers
    // (all but the time taken).
    const numbers = (r: { spotlights: Record<string, unknown>[] }) =>
      r.spotlights.map(({ timeMs, ...rest }) => rest);
    expect(numbers(three)).toEqual(numbers(one));
  });
});

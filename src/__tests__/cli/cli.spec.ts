/**
 * The `spotlight-search` command, run in-process on in-memory files.
 */
import { float16ToFloat32 } from 'npyjs';

import { EXIT, ICliIO, run } from '../../cli/main';
import { RESULT_SCHEMA } from '../../cli/schema';
import { kernelWeights } from '../../spotlight';
import {
  countLabel,
  plantedClusters,
  topIndices,
  twoCompactGroups
} from '../spotlight/planted';
import { float16Bits, npy, toFortran } from './npyfile';

jest.setTimeout(120000);

/** In-memory files and captured output. */
function memoryIO(files: Record<string, Uint8Array>) {
  const out: string[] = [];
  const err: string[] = [];
  const written: Record<string, string> = {};
  const io: ICliIO = {
    stdout: t => void out.push(t),
    stderr: t => void err.push(t),
    readFile: async path => {
      if (!(path in files)) {
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      }
      return files[path];
    },
    writeFile: async (path, text) => void (written[path] = text)
  };
  return {
    io,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    written
  };
}

const data = plantedClusters(1500, 16, 21, 0.04);
const files = {
  'E.npy': npy(data.embeddings, [data.n, data.d]),
  'L.npy': npy(data.losses, [data.n]),
  'EF64.npy': npy(
    toFortran(data.embeddings, data.n, data.d),
    [data.n, data.d],
    {
      descr: '<f8',
      fortran: true
    }
  ),
  'L64.npy': npy(data.losses, [data.n], { descr: '<f8' }),
  'L2d.npy': npy(data.losses, [data.n, 1])
};

describe('spotlight-search', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`writes the versioned JSON result (${backend})`, async () => {
      const m = memoryIO(files);
      const code = await run(
        [
          '--embeddings',
          'E.npy',
          '--losses',
          'L.npy',
          '--spotlight-size',
          '0.04',
          '--count',
          '2',
          '--steps',
          '1500',
          '--backend',
          backend,
          '--out',
          'r.json'
        ],
        m.io
      );
      expect(code).toBe(EXIT.ok);
      const r = JSON.parse(m.written['r.json']);
      expect(r).toMatchObject({
        version: 1,
        tool: 'spotlight-search',
        backend,
        n: 1500,
        d: 16
      });
      expect(r.parameters).toMatchObject({
        spotlightSize: 0.04,
        size: 60,
        count: 2,
        steps: 1500
      });
      expect(r.spotlights).toHaveLength(2);
      for (const [j, s] of r.spotlights.entries()) {
        for (const key of RESULT_SCHEMA.properties.spotlights.items.required) {
          expect(s).toHaveProperty(key);
        }
        expect(s.center).toHaveLength(16);
        expect(s.kernelWeights).toHaveLength(1500);
        expect(s.history.objective).toHaveLength(1500);
        expect(s.totalWeight).toBeGreaterThan(0);
        expect(s.supportSize).toBeGreaterThan(0);
        // The weights round-trip to float32 and match (μ, τ).
        const k = kernelWeights(
          data.embeddings,
          data.n,
          data.d,
          Float32Array.from(s.center),
          s.precision
        );
        expect(Float32Array.from(s.kernelWeights)).toEqual(k);
        expect(
          countLabel(topIndices(s.kernelWeights, 60), data.labels, j + 1)
        ).toBeGreaterThanOrEqual(57);
      }
      expect(m.stdout()).toBe('');
      expect(m.stderr()).toMatch(/spotlight 1\/2 +step 1\/1500/);
      expect(m.stderr()).toMatch(
        new RegExp(`2 spotlight\\(s\\) on ${backend}`)
      );
    });
  }

  it('reads float64 Fortran-order embeddings and (N, 1) losses, and prints to stdout', async () => {
    const m = memoryIO(files);
    const args = [
      '--spotlight-size',
      '0.04',
      '--count',
      '1',
      '--steps',
      '300',
      '--backend',
      'cpu',
      '--quiet'
    ];
    expect(
      await run(
        ['--embeddings', 'EF64.npy', '--losses', 'L64.npy', ...args],
        m.io
      )
    ).toBe(0);
    const a = JSON.parse(m.stdout());
    const m2 = memoryIO(files);
    expect(
      await run(
        ['--embeddings', 'E.npy', '--losses', 'L2d.npy', ...args],
        m2.io
      )
    ).toBe(0);
    const b = JSON.parse(m2.stdout());
    expect(a.spotlights[0].kernelWeights).toEqual(
      b.spotlights[0].kernelWeights
    );
    expect(m.stderr()).toBe('');
  });

  it('reads big-endian float16 embeddings and int64 losses as numpy wrote them', async () => {
    const half = Array.from(data.embeddings, float16Bits);
    const halfValues = half.map(float16ToFloat32);
    const intLosses = Array.from(data.losses, x => Math.round(1000 * x));
    const typed = {
      'E16.npy': npy(half, [data.n, data.d], { descr: '>f2' }),
      'Li8.npy': npy(
        intLosses.map(x => BigInt(x)),
        [data.n],
        { descr: '<i8' }
      ),
      // The same values stored as float32.
      'E16as32.npy': npy(halfValues, [data.n, data.d]),
      'Li8as32.npy': npy(intLosses, [data.n])
    };
    const args = [
      '--spotlight-size',
      '0.04',
      '--count',
      '1',
      '--steps',
      '300',
      '--backend',
      'cpu',
      '--quiet'
    ];
    const m = memoryIO(typed);
    expect(
      await run(
        ['--embeddings', 'E16.npy', '--losses', 'Li8.npy', ...args],
        m.io
      )
    ).toBe(0);
    const m2 = memoryIO(typed);
    expect(
      await run(
        ['--embeddings', 'E16as32.npy', '--losses', 'Li8as32.npy', ...args],
        m2.io
      )
    ).toBe(0);
    // The same result, bar the timings.
    const untimed = (text: string) =>
      text.replace(/"timeMs":\s*[-\d.e+]+/g, '"timeMs": 0');
    expect(JSON.parse(untimed(m.stdout())).spotlights).toEqual(
      JSON.parse(untimed(m2.stdout())).spotlights
    );
    expect(m.stderr()).toBe('');
  });

  it('prints its schema and its help', async () => {
    let m = memoryIO({});
    expect(await run(['--schema'], m.io)).toBe(0);
    expect(JSON.parse(m.stdout()).title).toMatch(/version 1/);
    m = memoryIO({});
    expect(await run(['--help'], m.io)).toBe(0);
    expect(m.stdout()).toMatch(/--embeddings <file>/);
  });

  const bad: [string, string[], Record<string, Uint8Array>, RegExp][] = [
    [
      'a missing option',
      ['--embeddings', 'E.npy'],
      files,
      /--losses is required/
    ],
    [
      'an unknown option',
      ['--embeddings', 'E.npy', '--losses', 'L.npy', '--bogus'],
      files,
      /unknown option '--bogus'/
    ],
    [
      'a non-numeric count',
      ['--embeddings', 'E.npy', '--losses', 'L.npy', '--count', 'x'],
      files,
      /'x' is not a number/
    ],
    [
      'a missing file',
      ['--embeddings', 'nope.npy', '--losses', 'L.npy'],
      files,
      /cannot read nope.npy: no such file/
    ],
    [
      'a WebGL backend',
      ['--embeddings', 'E.npy', '--losses', 'L.npy', '--backend', 'webgl'],
      files,
      /--backend must be auto, wasm or cpu/
    ],
    [
      '1-D embeddings',
      ['--embeddings', 'L.npy', '--losses', 'L.npy'],
      files,
      /must be 2-D/
    ],
    [
      '2-D losses',
      ['--embeddings', 'E.npy', '--losses', 'E.npy'],
      files,
      /one loss per example: shape \(N,\)/
    ],
    [
      'mismatched N',
      ['--embeddings', 'E.npy', '--losses', 'short.npy'],
      { ...files, 'short.npy': npy([1, 2, 3], [3]) },
      /3 losses for N = 1500/
    ],
    [
      'NaN losses',
      ['--embeddings', 'E.npy', '--losses', 'nan.npy'],
      {
        ...files,
        'nan.npy': npy(
          Float32Array.from(data.losses, (x, i) => (i === 7 ? NaN : x)),
          [data.n]
        )
      },
      /1 NaN or infinite value \(first at index 7\)/
    ],
    [
      'negative losses',
      ['--embeddings', 'E.npy', '--losses', 'neg.npy'],
      {
        ...files,
        'neg.npy': npy(
          Float32Array.from(data.losses, (x, i) => (i === 3 ? -1 : x)),
          [data.n]
        )
      },
      /negative value/
    ],
    [
      'a bad fraction',
      ['--embeddings', 'E.npy', '--losses', 'L.npy', '--spotlight-size', '2'],
      files,
      /strictly between 0 and 1/
    ],
    [
      'zero steps',
      ['--embeddings', 'E.npy', '--losses', 'L.npy', '--steps', '0'],
      files,
      /number of steps/
    ],
    [
      'a complex dtype',
      ['--embeddings', 'E.npy', '--losses', 'c.npy'],
      { ...files, 'c.npy': npy([1, 2], [2], { descr: '<c8' }) },
      /--losses c.npy has dtype '<c8' \(complex\)/
    ]
  ];
  for (const [name, args, fs, pattern] of bad) {
    it(`refuses ${name} with exit code 2 and one line`, async () => {
      const m = memoryIO(fs);
      expect(await run(args, m.io)).toBe(EXIT.usage);
      const err = m.stderr();
      expect(err).toMatch(/^spotlight-search: /);
      expect(err.trimEnd().split('\n')).toHaveLength(1);
      expect(err).toMatch(pattern);
      expect(m.stdout()).toBe('');
    });
  }

  it('reports a failed search with exit code 1', async () => {
    const m = memoryIO(files);
    const code = await run(
      [
        '--embeddings',
        'E.npy',
        '--losses',
        'L.npy',
        '--learning-rate',
        '1000',
        '--steps',
        '20',
        '--backend',
        'cpu'
      ],
      m.io
    );
    expect(code).toBe(EXIT.failed);
    expect(m.stderr()).toMatch(/the search failed: .*precision/);
  });

  it('writes the spotlights found before a failed one, with the error, and exits with 3', async () => {
    const groups = twoCompactGroups();
    const m = memoryIO({
      'G.npy': npy(groups.embeddings, [groups.n, groups.d]),
      'GL.npy': npy(groups.losses, [groups.n])
    });
    const code = await run(
      [
        '--embeddings',
        'G.npy',
        '--losses',
        'GL.npy',
        '--count',
        '3',
        '--backend',
        'cpu',
        '--no-collapse-guard',
        '--out',
        'out.json',
        '--quiet'
      ],
      m.io
    );
    expect(code).toBe(EXIT.partial);
    expect(m.stderr()).toMatch(/the search failed: Spotlight 2 lost/);
    expect(m.stderr()).toMatch(/writing the 1 spotlight\(s\) found before/);
    const json = JSON.parse(m.written['out.json']);
    expect(json.spotlights).toHaveLength(1);
    expect(json.error).toMatchObject({ spotlight: 2, code: 'zero-weight' });
    expect(json.error.message).toMatch(/lost every example/);
    expect(json.spotlights[0].guardSteps).toBe(0);

    // With the guard (the default) the same data gives all three.
    const guarded = memoryIO({
      'G.npy': npy(groups.embeddings, [groups.n, groups.d]),
      'GL.npy': npy(groups.losses, [groups.n])
    });
    expect(
      await run(
        [
          '--embeddings',
          'G.npy',
          '--losses',
          'GL.npy',
          '--count',
          '3',
          '--backend',
          'cpu',
          '--out',
          'out.json'
        ],
        guarded.io
      )
    ).toBe(EXIT.ok);
    const all = JSON.parse(guarded.written['out.json']);
    expect(all.spotlights).toHaveLength(3);
    expect(all.error).toBeUndefined();
    expect(all.spotlights[1].guardSteps).toBeGreaterThan(0);
    expect(guarded.stderr()).toMatch(
      /collapse guard acted in spotlight\(s\) .*2 \(\d+ steps\)/
    );
  });
});

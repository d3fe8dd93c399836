import {
  base64ToFloat32,
  escapeMarkdown,
  findingCells,
  findingMarkdown,
  float32ToBase64,
  IFinding,
  pythonLiteral,
  readFinding,
  regionVariable
} from '../../notebook/cells';
import { summarizeRegion } from '../../summaries/stats';
import { DEFAULT_OPTIONS } from '../../tokens';

function finding(labelNames: string[] = ['cat', 'dog']): IFinding {
  const losses = new Float32Array([0.1, 0.2, 3, 4]);
  const weights = new Float32Array([0, 0, 1, 0.5]);
  return {
    version: 1,
    region: 1,
    of: 2,
    names: {
      embeddings: 'emb',
      losses: 'loss',
      referenceLosses: null,
      labels: 'y',
      predictions: null,
      referencePredictions: null,
      examples: null,
      metadata: null
    },
    n: 4,
    d: 2,
    center: float32ToBase64(new Float32Array([0.5, -1.25])),
    precision: 0.125,
    parameters: DEFAULT_OPTIONS,
    backend: 'cpu',
    date: '2026-11-29T12:00:00.000Z',
    fingerprint: '0a1b2c3d',
    summary: summarizeRegion(0, weights, 3.33, {
      losses,
      labels: new Int32Array([0, 0, 0, 1]),
      labelNames
    }),
    history: { step: [0], objective: [1], totalWeight: [2] }
  };
}

describe('escapeMarkdown', () => {
  it('neutralises HTML and markdown syntax', () => {
    const out = escapeMarkdown(
      '<img src=x onerror="alert(1)"> [x](javascript:alert(1)) *b*'
    );
    expect(out).not.toMatch(/<img/);
    expect(out).toContain('&lt;img');
    expect(out).toContain('\\[x\\]\\(javascript:alert\\(1\\)\\)');
    expect(out).toContain('\\*b\\*');
    expect(escapeMarkdown('a\nb')).toBe('a b');
  });
});

describe('pythonLiteral', () => {
  it('maps JSON to Python literals', () => {
    expect(pythonLiteral({ a: [1, true, null, 'x"y'] })).toBe(
      '{"a": [1, True, None, "x\\"y"]}'
    );
    expect(pythonLiteral(NaN)).toBe("float('nan')");
    expect(pythonLiteral(-Infinity)).toBe("-float('inf')");
    expect(pythonLiteral('"""')).toBe('"\\"\\"\\""');
  });
});

describe('float32 base64', () => {
  it('round-trips exactly', () => {
    const values = new Float32Array([1.5, -2.25, 3.1415927, 1e-30]);
    expect(Array.from(base64ToFloat32(float32ToBase64(values)))).toEqual(
      Array.from(values)
    );
  });
});

describe('finding cells', () => {
  it('write a markdown summary with escaped data and a numpy-only code cell', () => {
    const f = finding(['<script>alert(1)</script>', '[link](http://x)']);
    const [md, code] = findingCells(
      f,
      new Float32Array([0.1, 0.2, 3, 4]),
      new Float32Array([0, 0, 1, 0.5])
    );
    expect(md.cell_type).toBe('markdown');
    expect(md.source).toContain('Spotlight region 1 of 2');
    expect(md.source).not.toContain('<script>');
    expect(md.source).toContain('&lt;script&gt;');
    expect(md.source).not.toMatch(/[^\\]\[link\]/);
    expect(md.source).toContain('0a1b2c3d');
    expect(code.cell_type).toBe('code');
    expect(code.source).toContain(
      `${regionVariable(1)} = _np.maximum(0.0, 1.0 - _precision`
    );
    expect(code.source).toContain('_np.asarray(emb, dtype=_np.float32)');
    expect(code.source).toContain('"0a1b2c3d"');
    expect(code.source).toContain('application/vnd.vegalite.v5+json');
    expect(code.source).not.toMatch(/jupyterlab_spotlight\b(?!\.)/);
    expect(code.source).not.toMatch(/^import jupyterlab_spotlight/m);
  });

  it('store the finding in metadata and read it back', () => {
    const f = finding();
    const [md] = findingCells(f, [1, 2, 3, 4], [0, 0, 1, 1]);
    const back = readFinding(md.metadata);
    expect(back).toEqual(f);
    expect(readFinding({})).toBeNull();
    expect(
      readFinding({ jupyterlab_spotlight: { version: 99, finding: f } })
    ).toBeNull();
  });

  it('mention accuracy only when known', () => {
    expect(findingMarkdown(finding())).not.toContain('Accuracy');
  });
});

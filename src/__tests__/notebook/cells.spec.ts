import {
  base64ToFloat32,
  escapeMarkdown,
  findingCells,
  findingCode,
  findingMarkdown,
  float32ToBase64,
  IFinding,
  pythonLiteral,
  pythonLiteralLines,
  readFinding,
  regionVariable
} from '../../notebook/cells';
import { embeddingsFingerprint, fingerprint } from '../../pipeline';
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
      `${regionVariable(1)}, ${regionVariable(1)}_top, ${regionVariable(1)}_worse = recheck_spotlight_region_1(emb, loss)`
    );
    expect(code.source).toContain(
      'weights = np.maximum(0.0, 1.0 - precision * ((x.astype(np.float64) - center) ** 2).sum(axis=1))'
    );
    expect(code.source).toContain(
      'x = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))'
    );
    expect(code.source).toContain('"0a1b2c3d"');
    expect(code.source).toContain('application/vnd.vegalite.v5+json');
    expect(code.source).not.toMatch(/jupyterlab_spotlight\b(?!\.)/);
    expect(code.source).not.toMatch(/^import jupyterlab_spotlight/m);
  });

  it('reads as code a person would write: named public variables, no blobs, the chart across lines', () => {
    const code = findingCode(finding(), {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      data: { values: [{ loss: 0.5, weight: 1, group: 'region' }] },
      mark: 'bar',
      encoding: {
        x: { field: 'loss', type: 'quantitative', bin: { maxbins: 30 } },
        y: { aggregate: 'sum', field: 'weight', type: 'quantitative' }
      }
    });
    // No private names at the top level, a named function, named results.
    const topLevel = code
      .split('\n')
      .filter(line => /^[A-Za-z_][A-Za-z0-9_, ]* = /.test(line))
      .map(line => line.split(' = ')[0]);
    expect(topLevel).toEqual([
      'spotlight_region_1_assert_worse',
      'spotlight_region_1_center',
      'spotlight_region_1_precision',
      'spotlight_region_1, spotlight_region_1_top, spotlight_region_1_worse',
      'spotlight_region_1_chart'
    ]);
    expect(code).not.toMatch(/^_/m);
    expect(code).toContain(
      'def recheck_spotlight_region_1(embeddings, losses):'
    );
    // The centre as numbers, not base64.
    expect(code).not.toContain('b64decode');
    expect(code).toMatch(/spotlight_region_1_center = np\.array\(\n {4}\[/);
    // The chart spec formatted across lines, and no line is a wall.
    expect(code).toContain('spotlight_region_1_chart = {\n    "$schema": ');
    expect(code).toContain('    "encoding": {\n        "x": {');
    for (const line of code.split('\n')) {
      expect(line.length).toBeLessThan(200);
    }
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

describe('the saved cell re-checks the finding', () => {
  const chart = { mark: 'bar' };

  function withInterval(): IFinding {
    const f = finding();
    f.summary = {
      ...f.summary,
      lift: 9.48,
      liftInterval: [5.1, 14.2],
      liftIntervalKind: 'holdout'
    };
    return f;
  }

  function compared(direction: 'regression' | 'improvement'): IFinding {
    const f = finding();
    f.names = { ...f.names, referenceLosses: 'loss_a' };
    f.parameters = { ...f.parameters, direction };
    f.summary = {
      ...f.summary,
      comparison: {
        weightedLossReference: 1,
        overallLossReference: 0.5,
        weightedLossDifference: direction === 'improvement' ? -0.42 : 0.42,
        overallLossDifference: 0.1,
        accuracyReference: null,
        overallAccuracyReference: null,
        disagreement: null
      }
    };
    return f;
  }

  it('compare the current lift with the saved interval', () => {
    const f = withInterval();
    const code = findingCode(f, chart);
    expect(code).toContain('saved_lift, lift_low, lift_high = 9.48, 5.1, 14.2');
    expect(code).toContain(
      'verdict = "still there" if lift > lift_low else "fixed"'
    );
    expect(code).toContain('lift = region_loss / overall_loss');
    expect(code).toContain('holdout): the weakness is {verdict}.');
    expect(code).toContain('if lift > lift_high:');
    expect(code).not.toContain('no interval saved');
    expect(code).not.toContain('saved_difference');
    const md = findingMarkdown(f);
    expect(md).toContain('**Re-check:**');
    expect(md).toContain('5.10–14.20× (holdout)');
  });

  it('show the region name and its explanation, escaped', () => {
    const f = finding();
    f.summary.name = 'source = <b>scanner</b> · stroke width high';
    f.summary.explanation = [
      {
        column: 'stroke width',
        kind: 'continuous',
        inRegion: 3.5,
        overall: 3,
        effect: 0.9,
        statistic: 6.1,
        pValue: 1e-9,
        quantilesRegion: [3.2, 3.5, 3.8],
        quantilesOverall: [2.7, 3, 3.3]
      }
    ];
    const md = findingMarkdown(f);
    expect(md.split('\n')[0]).toBe(
      `### Spotlight region 1 of ${f.of}: ${escapeMarkdown(f.summary.name)}`
    );
    expect(md).not.toContain('<b>');
    expect(md).toContain(
      `  - stroke width high: ${escapeMarkdown('mean 3.50 in the region vs 3.00 overall (median 3.50 vs 3.00)')} (effect 0.90, z = 6.1)`
    );
    expect(findingMarkdown(finding())).toMatch(
      /^### Spotlight region 1 of \d+\n/
    );
  });

  it('fall back to the saved lift when no interval was saved', () => {
    const f = finding();
    expect(f.summary.liftInterval).toBeUndefined();
    const code = findingCode(f, chart);
    expect(code).toContain(`saved_lift = ${f.summary.lift}\n`);
    expect(code).toContain(
      'verdict = "still there" if lift >= 0.999 * saved_lift else "fixed"'
    );
    expect(code).toContain('no interval saved): ');
    expect(code).not.toContain('lift_low');
    expect(findingMarkdown(f)).toContain('(no interval saved)');
  });

  it('re-check the weighted loss difference when two models are compared', () => {
    const code = findingCode(compared('regression'), chart);
    expect(code).toContain(
      'def recheck_spotlight_region_1(embeddings, losses, reference_losses):'
    );
    expect(code).toContain('= recheck_spotlight_region_1(emb, loss, loss_a)');
    expect(code).toContain(
      'difference = (weights * (loss - reference)).sum() / total'
    );
    expect(code).toContain('saved_difference = 0.42\n');
    expect(code).toContain(
      'still_there = difference > 0 and difference >= 0.5 * saved_difference'
    );
    expect(code).toContain('if difference > 1.5 * saved_difference:');
    expect(code).not.toContain('lift_low');
    expect(findingMarkdown(compared('regression'))).toContain(
      '`loss` − `loss_a`'
    );

    const improvement = findingCode(compared('improvement'), chart);
    expect(improvement).toContain(
      'difference = (weights * (reference - loss)).sum() / total'
    );
    expect(improvement).toContain('saved_difference = 0.42\n');
    expect(improvement).toContain('the improvement is {verdict}');
    expect(improvement).toContain('worse = None  # assert mode applies');
    expect(improvement).not.toContain('1.5 * saved_difference');
  });

  it('bake the assert setting into the cell and name the mode in the markdown', () => {
    const f = withInterval();
    const [mdOff, off] = findingCells(f, [1, 2, 3, 4], [0, 0, 1, 1]);
    expect(off.source).toContain('\nspotlight_region_1_assert_worse = False\n');
    expect(mdOff.source).toContain('Assert mode off');
    const [mdOn, on] = findingCells(f, [1, 2, 3, 4], [0, 0, 1, 1], {
      recheckAssert: true
    });
    expect(on.source).toContain('\nspotlight_region_1_assert_worse = True\n');
    expect(on.source).toMatch(
      /if spotlight_region_1_assert_worse and spotlight_region_1_worse:\n {4}raise AssertionError\(spotlight_region_1_worse\)$/
    );
    expect(mdOn.source).toContain(
      'Assert mode on: it raises AssertionError when the lift exceeds 14.20×'
    );
  });

  it('warn about changed embeddings only, when their fingerprint was saved', () => {
    const f = { ...withInterval(), embeddingsFingerprint: '8be56202' };
    const code = findingCode(f, chart);
    expect(code).toContain('if embeddings_crc != "8be56202":');
    expect(code).toContain(
      'the embeddings changed since this finding was saved'
    );
    expect(code).not.toContain('data_crc');
    const old = findingCode(withInterval(), chart);
    expect(old).toContain('if data_crc != "0a1b2c3d":');
    expect(old).not.toContain(
      'Run a new audit to find the regions of the new data'
    );
  });
});

describe('embeddingsFingerprint', () => {
  it('is zlib CRC-32 of the float32 bytes, the start of the data fingerprint', () => {
    const embeddings = new Float32Array([1.5, -2.25, 3, 4]);
    // zlib.crc32(np.array([1.5, -2.25, 3, 4], dtype=np.float32).tobytes())
    expect(embeddingsFingerprint(embeddings)).toBe('8be56202');
    expect(fingerprint(embeddings, new Float32Array(0))).toBe('8be56202');
    expect(embeddingsFingerprint(embeddings.subarray(1))).not.toBe('8be56202');
  });
});

describe('pythonLiteralLines', () => {
  it('keeps what fits on one line, and evaluates to the same data as pythonLiteral', () => {
    expect(pythonLiteralLines({ a: [1, 2], b: 'x' })).toBe(
      pythonLiteral({ a: [1, 2], b: 'x' })
    );
    const big = {
      mark: { type: 'bar', tooltip: true },
      values: Array.from({ length: 40 }, (_, i) => i / 7),
      rows: [
        { a: 1, b: null },
        { a: 2, b: false }
      ]
    };
    const text = pythonLiteralLines(big);
    // Same tokens once whitespace and trailing commas are removed.
    const squash = (t: string) =>
      t.replace(/\s+/g, '').replace(/,([\]}])/g, '$1');
    expect(squash(text)).toBe(squash(pythonLiteral(big)));
    for (const line of text.split('\n')) {
      expect(line.length).toBeLessThanOrEqual(88);
    }
    expect(
      text.startsWith('{\n    "mark": {"type": "bar", "tooltip": True},\n')
    ).toBe(true);
    expect(text.endsWith('\n}')).toBe(true);
  });
});

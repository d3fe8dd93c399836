import { DEFAULT_OPTIONS, IVariable } from '../../tokens';
import {
  decimalSeparator,
  embeddingsRefusal,
  isNumericDtype,
  parseNumberInput,
  setupSummary
} from '../../widgets/choices';

function variable(partial: Partial<IVariable>): IVariable {
  return {
    name: 'x',
    type: 'numpy.ndarray',
    shape: null,
    dtype: null,
    nbytes: null,
    length: null,
    roles: [],
    ...partial
  };
}

describe('embeddingsRefusal', () => {
  it('says why 1-D, 3-D, string and tiny arrays cannot be embeddings', () => {
    expect(
      embeddingsRefusal(variable({ shape: [500], dtype: 'float32' }))
    ).toBe('1-D (500); embeddings are N × D (one row per example)');
    expect(
      embeddingsRefusal(variable({ shape: [500, 8, 8], dtype: 'float32' }))
    ).toBe(
      '3-D (500 × 8 × 8); embeddings are N × D: flatten each example, e.g. x.reshape(len(x), -1)'
    );
    expect(embeddingsRefusal(variable({ shape: [500, 4], dtype: '<U5' }))).toBe(
      'holds <U5 values; embeddings must be numbers'
    );
    expect(
      embeddingsRefusal(variable({ shape: [1, 4], dtype: 'float64' }))
    ).toBe('1 × 4: embeddings need at least 2 rows');
    expect(embeddingsRefusal(variable({ shape: [], dtype: 'float64' }))).toBe(
      'a single value (0-D); embeddings are N × D'
    );
  });

  it('refuses nothing that can be embeddings, and lists no non-arrays', () => {
    expect(
      embeddingsRefusal(
        variable({ shape: [500, 8], dtype: 'float32', roles: ['embeddings'] })
      )
    ).toBeNull();
    expect(
      embeddingsRefusal(variable({ type: 'function', shape: null }))
    ).toBeNull();
  });
});

describe('isNumericDtype', () => {
  it('tells numbers from strings and objects', () => {
    for (const t of [
      'float32',
      'int64',
      'uint8',
      'bool',
      'torch.bfloat16',
      '<f4',
      'i8'
    ]) {
      expect(`${t}: ${isNumericDtype(t)}`).toBe(`${t}: true`);
    }
    for (const t of ['<U5', 'object', 'str', 'category', null]) {
      expect(`${t}: ${isNumericDtype(t)}`).toBe(`${t}: false`);
    }
  });
});

describe('parseNumberInput', () => {
  const read = (text: string, locale = 'en-US') =>
    parseNumberInput(text, locale);

  it('reads "0,02" as 0.02 in any locale, never as 2', () => {
    for (const locale of ['en-US', 'de-DE', 'fr-FR', 'ja-JP']) {
      expect(read('0,02', locale)).toEqual({ value: 0.02 });
      expect(read('0.02', locale)).toEqual({ value: 0.02 });
      expect(read(',5', locale)).toEqual({ value: 0.5 });
    }
  });

  it('reads plain numbers, signs and exponents', () => {
    expect(read('1000')).toEqual({ value: 1000 });
    expect(read(' 3 ')).toEqual({ value: 3 });
    expect(read('-0.5')).toEqual({ value: -0.5 });
    expect(read('1e-3')).toEqual({ value: 0.001 });
    expect(read('2,5e-2', 'de-DE')).toEqual({ value: 0.025 });
    expect(read('1.')).toEqual({ value: 1 });
  });

  it('reads the locale decimal separator before three digits', () => {
    expect(read('1,000', 'de-DE')).toEqual({ value: 1 });
    expect(read('1.000', 'en-US')).toEqual({ value: 1 });
    expect(read('0,125', 'en-US')).toEqual({ value: 0.125 });
  });

  it('refuses, visibly, what could be a thousands separator or is not a number', () => {
    expect(read('1,000', 'en-US')).toEqual({
      error:
        "'1,000' is ambiguous: ',' may separate thousands. Type it without thousands separators, e.g. 1000 or 1.000."
    });
    expect('error' in read('1.000', 'de-DE')).toBe(true);
    for (const bad of [
      '1,000,000',
      '1.000,5',
      '1 000',
      'abc',
      '--1',
      '0.0.2',
      '.',
      ',',
      '1e',
      '0x10'
    ]) {
      const parsed = read(bad);
      expect(`${bad}: ${'error' in parsed}`).toBe(`${bad}: true`);
    }
    expect(read('')).toEqual({ error: 'Enter a value.' });
    expect(read('1e400')).toEqual({ error: "'1e400' is too large." });
  });

  it('never reads a typed decimal as a different number (property)', () => {
    for (const locale of ['en-US', 'de-DE']) {
      for (let i = 0; i < 300; i++) {
        const whole = Math.floor(Math.random() * 1000);
        const digits = 1 + Math.floor(Math.random() * 5);
        const fraction = String(
          Math.floor(Math.random() * 10 ** digits)
        ).padStart(digits, '0');
        for (const sep of ['.', ',']) {
          const parsed = read(`${whole}${sep}${fraction}`, locale);
          if ('value' in parsed) {
            expect(parsed.value).toBeCloseTo(
              Number(`${whole}.${fraction}`),
              12
            );
          } else {
            // Only the ambiguous case is refused.
            expect(fraction).toHaveLength(3);
          }
        }
      }
    }
  });

  it('knows the decimal separator of a locale', () => {
    expect(decimalSeparator('en-US')).toBe('.');
    expect(decimalSeparator('de-DE')).toBe(',');
    expect(decimalSeparator('not a locale!')).toBe('.');
  });
});

describe('setupSummary', () => {
  it('shows what ran: names, reference losses, holdout, components, tests and backend', () => {
    const names = {
      embeddings: 'emb',
      losses: 'loss_b',
      referenceLosses: 'loss_a',
      labels: 'y',
      predictions: null,
      referencePredictions: null,
      examples: null,
      metadata: null
    };
    expect(
      setupSummary(
        names,
        {
          ...DEFAULT_OPTIONS,
          count: 1,
          steps: 50,
          holdout: true,
          components: 4,
          permutations: 9
        },
        'wasm'
      )
    ).toBe(
      'emb · loss_b vs loss_a (B worse than A) · labels y · 1 spotlight × 50 steps · size 0.02 · 4 principal components · holdout · 9 null searches · backend wasm'
    );
    expect(
      setupSummary(
        { ...names, referenceLosses: null, labels: null },
        DEFAULT_OPTIONS
      )
    ).toMatch(
      /^emb · loss_b · \d+ spotlights × [\d,]+ steps · size 0.02 · \d+ null searches · backend auto$/
    );
  });
});

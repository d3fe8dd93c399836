/**
 * Bad input is refused before any work, with an error that names the problem
 * and says what to do.
 */
import {
  findSpotlights,
  ISpotlightInput,
  SpotlightInputError,
  SpotlightOptions
} from '../../spotlight';

/** A valid input of n × d. */
function input(n = 100, d = 3): ISpotlightInput {
  return {
    embeddings: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i)),
    losses: Float32Array.from({ length: n }, (_, i) => (i % 7) / 7),
    n,
    d
  };
}

/**
 * Expect the search to refuse the input, without calling back.
 *
 * @param data - The input.
 * @param options - The options.
 * @param code - Expected error code.
 * @param message - Expected message pattern.
 */
async function refused(
  data: ISpotlightInput,
  options: SpotlightOptions,
  code: string,
  message: RegExp
): Promise<void> {
  const onProgress = jest.fn();
  let error: unknown;
  try {
    await findSpotlights(
      data,
      { backend: 'cpu', steps: 10, ...options },
      { onProgress }
    );
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SpotlightInputError);
  expect(error).toMatchObject({ name: 'SpotlightInputError', code });
  expect((error as Error).message).toMatch(message);
  expect(onProgress).not.toHaveBeenCalled();
}

describe('input validation', () => {
  it('accepts a valid input', async () => {
    const r = await findSpotlights(input(), {
      backend: 'cpu',
      steps: 10,
      count: 1,
      spotlightSize: 0.1
    });
    expect(r.spotlights).toHaveLength(1);
  });

  it('refuses a buffer whose length is not N × D', async () => {
    const data = input();
    await refused(
      { ...data, embeddings: data.embeddings.subarray(1) },
      {},
      'bad-shape',
      /hold 299 values but N × D = 100 × 3 = 300/
    );
    await refused({ ...data, d: 4 }, {}, 'bad-shape', /N × D = 100 × 4 = 400/);
  });

  it('refuses losses of the wrong length', async () => {
    const data = input();
    await refused(
      { ...data, losses: data.losses.subarray(5) },
      {},
      'bad-shape',
      /95 losses for N = 100.*one loss per example/
    );
  });

  it('refuses D = 0', async () => {
    await refused(
      {
        embeddings: new Float32Array(0),
        losses: new Float32Array(100),
        n: 100,
        d: 0
      },
      {},
      'empty-dimension',
      /dimension D = 0/
    );
  });

  it('refuses N too small for the spotlight size', async () => {
    await refused(
      input(40),
      { spotlightSize: 0.02 },
      'too-few-examples',
      /gives S = 0.*fraction ≥ 0\.0250/
    );
    await refused(
      input(10),
      { spotlightSize: 1 - 1e-12 },
      'too-few-examples',
      /S = 10.*smaller fraction/
    );
  });

  it('refuses NaN or infinite embeddings, with the count and first indices', async () => {
    const data = input();
    const embeddings = Float32Array.from(data.embeddings);
    embeddings[4] = NaN;
    embeddings[7] = Infinity;
    embeddings[299] = -Infinity;
    await refused(
      { ...data, embeddings },
      {},
      'non-finite-embeddings',
      /3 NaN or infinite values \(first at row 1 column 1, row 2 column 1, row 99 column 2\)/
    );
  });

  it('refuses NaN or infinite losses, with the count and first indices', async () => {
    const data = input();
    const losses = Float32Array.from(data.losses);
    losses[3] = NaN;
    await refused(
      { ...data, losses },
      {},
      'non-finite-losses',
      /1 NaN or infinite value \(first at index 3\)/
    );
    losses[50] = Infinity;
    await refused(
      { ...data, losses },
      {},
      'non-finite-losses',
      /2 NaN or infinite values \(first at index 3, 50\)/
    );
  });

  it('refuses negative losses', async () => {
    const data = input();
    const losses = Float32Array.from(data.losses);
    losses[10] = -0.5;
    losses[20] = -1;
    await refused(
      { ...data, losses },
      {},
      'negative-losses',
      /2 negative values \(first at index 10, 20\).*≥ 0/
    );
  });

  it('refuses losses with nothing to find or too large for the arithmetic', async () => {
    const data = input();
    await refused(
      { ...data, losses: new Float32Array(data.n) },
      {},
      'constant-losses',
      /All 100 losses are equal \(0\): .*nothing to find/
    );
    const huge = Float32Array.from(data.losses);
    huge[7] = 3.4e38;
    await refused(
      { ...data, losses: huge },
      {},
      'huge-losses',
      /The losses reach 3\.40e\+38: .*Cap them/
    );
    // Large but usable losses are fine.
    huge[7] = 1e6;
    const r = await findSpotlights(
      { ...data, losses: huge },
      { backend: 'wasm', steps: 50, count: 1, spotlightSize: 0.1 }
    );
    expect(r.spotlights[0].weightedLoss).toBeGreaterThan(0);
  });

  it('refuses embeddings that are all the same vector', async () => {
    const data = input();
    const embeddings = new Float32Array(data.n * data.d).fill(0.25);
    await refused(
      { ...data, embeddings },
      {},
      'constant-embeddings',
      /All 100 embeddings are the same vector/
    );
    // One differing value is enough to search.
    embeddings[data.d * 50] = 1;
    const r = await findSpotlights(
      { ...data, embeddings },
      { backend: 'cpu', steps: 20, count: 1, spotlightSize: 0.1 }
    );
    expect(r.spotlights).toHaveLength(1);
  });

  it('refuses a fraction outside (0, 1)', async () => {
    for (const spotlightSize of [0, 1, -0.1, 1.5, NaN]) {
      await refused(
        input(),
        { spotlightSize },
        'bad-option',
        /strictly between 0 and 1/
      );
    }
  });

  it('refuses a count < 1 and steps < 1', async () => {
    for (const count of [0, -1, 1.5]) {
      await refused(
        input(),
        { count },
        'bad-option',
        /number of spotlights must be a whole number ≥ 1/
      );
    }
    for (const steps of [0, -5, 2.5]) {
      await refused(
        input(),
        { steps },
        'bad-option',
        /number of steps must be a whole number ≥ 1/
      );
    }
  });

  it('refuses other bad options', async () => {
    await refused(input(), { learningRate: 0 }, 'bad-option', /learning rate/);
    await refused(input(), { patience: -1 }, 'bad-option', /patience/);
    await refused(input(), { factor: 1 }, 'bad-option', /factor/);
    await refused(
      input(),
      { pruning: 'yes' as unknown as boolean },
      'bad-option',
      /pruning option must be true or false/
    );
    await refused(input(), { barrierScale: -1 }, 'bad-option', /barrier scale/);
    await refused(
      input(),
      { finalBarrierFraction: 0 },
      'bad-option',
      /final barrier/
    );
    await refused(
      input(),
      { initialPrecision: Infinity },
      'bad-option',
      /initial precision/
    );
    await refused(
      input(),
      { backend: 'gpu' as any },
      'bad-option',
      /auto, webgl, wasm or cpu/
    );
  });

  it('refuses arrays of the wrong type', async () => {
    const data = input();
    await refused(
      { ...data, embeddings: Array.from(data.embeddings) as any },
      {},
      'bad-type',
      /Float32Array/
    );
    await refused(
      { ...data, losses: Float64Array.from(data.losses) as any },
      {},
      'bad-type',
      /Float32Array/
    );
  });

  it('validates before looking at the signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      findSpotlights({ ...input(), d: 0 }, {}, { signal: controller.signal })
    ).rejects.toBeInstanceOf(SpotlightInputError);
  });
});

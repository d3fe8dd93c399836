import {
  fetchDetail,
  fingerprint,
  keptSpotlights,
  SpotlightModel
} from '../../model';
import { findSpotlights, SpotlightRunError } from '../../spotlight';
import { twoCompactGroups } from '../spotlight/planted';

describe('keptSpotlights', () => {
  it('keeps the regions found before a failed spotlight, and says which failed', async () => {
    let error: unknown;
    await findSpotlights(twoCompactGroups(), {
      backend: 'cpu',
      count: 3,
      collapseGuard: false
    }).catch(e => (error = e));
    const kept = keptSpotlights(error, 3)!;
    expect(kept.partial.spotlights).toHaveLength(1);
    expect(kept.failure).toMatch(
      /^Spotlight 2 of 3 failed, so only the region found before it is shown: Spotlight 2 lost every example/
    );
  });

  it('keeps nothing when the first spotlight failed or the error is another', () => {
    const first = new SpotlightRunError('zero-weight', 'Spotlight 1 lost…');
    expect(keptSpotlights(first, 5)).toBeNull();
    expect(keptSpotlights(new Error('kernel restarted'), 5)).toBeNull();
  });
});

describe('fingerprint', () => {
  it("equals Python's zlib.crc32 over the float32 bytes, as the saved cells compute it", () => {
    // numpy: zlib.crc32(L.tobytes(), zlib.crc32(X.tobytes())) for these arrays.
    const embeddings = new Float32Array([1, 2, 3, 4]);
    const losses = new Float32Array([0.5, 0.25]);
    expect(fingerprint(embeddings, losses)).toBe('3c6390ea');
    expect(fingerprint(embeddings, new Float32Array([0.5, 0.26]))).not.toBe(
      '3c6390ea'
    );
  });
});

describe('fetchDetail', () => {
  it('shows the role, the bytes of the whole audit, the rate and the transport', () => {
    const progress = {
      bytes: 12.6e6,
      total: 50.4e6,
      megabytesPerSecond: 160.4,
      transport: 'file' as const
    };
    expect(fetchDetail('embeddings', 'emb', 0, 54.4e6, progress)).toBe(
      "embeddings 'emb' · 12.6 of 54.4 MB · 160 MB/s · via file"
    );
    expect(
      fetchDetail('losses', 'loss', 50.4e6, 54.4e6, {
        bytes: 2e6,
        total: 4e6,
        megabytesPerSecond: 31.6,
        transport: 'comm'
      })
    ).toBe("losses 'loss' · 52.4 of 54.4 MB · 32 MB/s · via comm");
  });

  it('never shows "0 MB/s": no rate before 1 MB has moved, small amounts in kB', () => {
    // 3.2 kB in 100 ms: 0.032 MB/s, which used to read "0 MB/s".
    const small = {
      bytes: 3200,
      total: 3200,
      megabytesPerSecond: 0.032,
      transport: 'comm' as const
    };
    expect(fetchDetail('losses', 'loss', 3200, 6400, small)).toBe(
      "losses 'loss' · 6.4 of 6.4 kB · via comm"
    );
    // A big audit, but this array has moved only 0.5 MB so far.
    expect(
      fetchDetail('embeddings', 'emb', 0, 20e6, {
        ...small,
        bytes: 0.5e6,
        total: 20e6,
        megabytesPerSecond: 0.4
      })
    ).toBe("embeddings 'emb' · 0.5 of 20.0 MB · via comm");
    // A slow link shows one decimal rather than rounding to 0 or 1.
    expect(
      fetchDetail('embeddings', 'emb', 0, 20e6, {
        ...small,
        bytes: 2e6,
        total: 20e6,
        megabytesPerSecond: 0.42
      })
    ).toBe("embeddings 'emb' · 2.0 of 20.0 MB · 0.4 MB/s · via comm");
    for (const rate of [0, 0.001, 0.04, 0.3, 3, 30, 300]) {
      for (const bytes of [0, 10, 1e3, 5e5, 1e6, 5e7]) {
        expect(
          fetchDetail('losses', 'l', 0, Math.max(bytes, 1), {
            ...small,
            bytes,
            total: Math.max(bytes, 1),
            megabytesPerSecond: rate
          })
        ).not.toMatch(/ 0(\.0)? [kM]B\/s/);
      }
    }
  });
});

describe('SpotlightModel', () => {
  it('starts idle with the paper defaults and no notebook', () => {
    const model = new SpotlightModel();
    expect(model.stage).toBe('idle');
    expect(model.options.spotlightSize).toBe(0.02);
    expect(model.options.steps).toBe(5000);
    expect(model.sessionContext).toBeNull();
    expect(model.selectionProblems().embeddings).toMatch(
      /Choose the embeddings/
    );
    expect(model.selectionProblems().losses).toMatch(
      /Choose the per-example losses/
    );
    model.dispose();
    expect(model.isDisposed).toBe(true);
  });

  it('refuses to run without a notebook, with a message that says what to do', async () => {
    const model = new SpotlightModel();
    const changes: string[] = [];
    model.changed.connect((_, c) => changes.push(c));
    await expect(model.run()).rejects.toThrow(/Open a notebook/);
    expect(model.stage).toBe('error');
    expect(model.isRunning).toBe(false);
    expect(model.error).toMatch(/Open a notebook/);
    // Changing the selection clears the stale error.
    model.select('embeddings', 'emb');
    expect(model.error).toBeNull();
    expect(changes).toContain('selection');
    model.dispose();
  });

  it('applies settings and per-panel overrides', () => {
    const model = new SpotlightModel();
    model.configure({ count: 3 }, { maxMapPoints: 100 });
    model.setOptions({ steps: 10 });
    expect(model.options.count).toBe(3);
    expect(model.options.steps).toBe(10);
    expect(model.settings.maxMapPoints).toBe(100);
    model.dispose();
  });

  it('refuses to select a region that does not exist', () => {
    const model = new SpotlightModel();
    expect(() => model.selectRegion(2)).toThrow(/no region 3/);
    model.dispose();
  });
});

import type { IFinding } from '../../notebook/cells';
import {
  MANUAL_METADATA_KEY,
  manualRegionCells,
  readManualFinding
} from '../../notebook/manualCells';

/** A manual region's finding as `makeFinding` writes it (the fields used). */
function manualFinding(indices: number[] | undefined): IFinding {
  return {
    version: 1,
    region: 3,
    of: 3,
    names: { embeddings: 'X', losses: 'loss' },
    n: 10,
    d: 2,
    center: '',
    precision: 0,
    parameters: {},
    backend: 'cpu',
    date: '2026-01-02T03:04:05.000Z',
    fingerprint: 'abc',
    embeddingsFingerprint: '0123abcd',
    summary: {
      name: 'hand picked',
      weightedLossOriginal: 0.5,
      overallLoss: 0.25,
      lift: 2,
      accuracy: null,
      overallAccuracy: null,
      ...(indices ? { manual: { indices } } : {})
    },
    history: { step: [], objective: [], totalWeight: [] }
  } as unknown as IFinding;
}

describe('readManualFinding', () => {
  it('reads back the finding its markdown cell holds, and nothing from the code cell', () => {
    const finding = manualFinding([1, 4, 7]);
    const [markdown, code] = manualRegionCells(finding);
    const read = readManualFinding(
      markdown.metadata as Record<string, unknown>
    );
    expect(read).toEqual(finding);
    expect(read!.summary.manual!.indices).toEqual([1, 4, 7]);
    expect(readManualFinding(code.metadata as Record<string, unknown>)).toBe(
      null
    );
  });

  it('ignores other versions, missing or broken row lists, and found regions', () => {
    const entry = (finding: unknown, version: unknown = 1) => ({
      [MANUAL_METADATA_KEY]: { version, region: 3, finding }
    });
    expect(readManualFinding(entry(manualFinding([1]), 2))).toBeNull();
    expect(readManualFinding(entry(manualFinding(undefined)))).toBeNull();
    expect(readManualFinding(entry(manualFinding([1.5])))).toBeNull();
    expect(readManualFinding(entry(null))).toBeNull();
    expect(
      readManualFinding({ jupyterlab_spotlight: { version: 1, finding: {} } })
    ).toBeNull();
  });
});

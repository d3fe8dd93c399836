/**
 * What each region is (issue 12) through a real JupyterLab and kernel:
 * metadata tables of several shapes checked and explained, the region's name
 * on its card, in the region view and in the run summary, embeddings held
 * one vector per row (equal and ragged).
 */
import { expect, test } from '@jupyterlab/galata';

import { command, kernelExec, newNotebook } from './helpers';

/**
 * Planted data: 800 examples in 4-D; a cluster of 80 around (5, 5, 5, 5)
 * with high losses where scanner B and thick strokes are over-represented.
 * `meta` has four columns with every kind of missing value: strings with
 * None, nullable booleans with NA, floats with NaN, datetimes with NaT; the
 * boolean and the dates are unrelated to the cluster.
 */
const SETUP = `
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
n, c = 800, 80
embeddings = rng.normal(size=(n, 4)).astype(np.float32)
embeddings[:c] = rng.normal(5, 0.5, size=(c, 4))
losses = rng.exponential(0.1, size=n).astype(np.float32)
losses[:c] += 2.0
source = rng.choice(['scanner A', 'scanner B', 'scanner C'], size=n).astype(object)
source[:c] = np.where(rng.random(c) < 0.75, 'scanner B', source[:c])
source[rng.random(n) < 0.05] = None
thickness = rng.normal(2.0, 0.5, size=n)
thickness[:c] += 1.0
thickness[rng.random(n) < 0.05] = np.nan
flag = pd.array(rng.random(n) < 0.5, dtype='boolean')
flag[rng.random(n) < 0.05] = pd.NA
when = pd.Series(pd.Timestamp('2024-01-01') + pd.to_timedelta(rng.integers(0, 365, n), unit='D'))
when[rng.random(n) < 0.05] = pd.NaT
meta = pd.DataFrame({'source': source, 'flag': flag, 'thickness': thickness, 'when': when})
cities = pd.DataFrame({'city': rng.choice(['Oslo', 'Lima', 'Pune'], size=n)})
vectors = pd.DataFrame({'emb': list(embeddings.astype(np.float64)), 'loss': losses})
ragged = pd.DataFrame({'emb': list(embeddings), 'loss': losses})
ragged.at[17, 'emb'] = embeddings[17, :3]
`;

async function freshNotebook(page: any, name: string): Promise<void> {
  await newNotebook(page, name);
  await kernelExec(page, SETUP);
  await command(page, 'jupyterlab-spotlight:open');
}

test.describe('what each region is', () => {
  test.setTimeout(300000);

  test('a 4-column table with NaN/None/NA/NaT explains the planted region: name on the card, the view and the summary', async ({
    page
  }) => {
    await freshNotebook(page, 'explain.ipynb');
    const summary = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'embeddings',
      losses: 'losses',
      metadata: 'meta',
      count: 1,
      permutations: 0
    });
    const region = summary.regions[0];
    const columns = (region.explanation as any[]).map(e => e.column);
    // Both planted differences first; the unrelated columns, if at all, after.
    expect(columns.slice(0, 2).sort()).toEqual(['source', 'thickness']);
    for (const unrelated of ['flag', 'when']) {
      const at = columns.indexOf(unrelated);
      expect(at === -1 || at > 1).toBe(true);
    }
    const source = region.explanation.find((e: any) => e.column === 'source');
    expect(source).toMatchObject({ kind: 'categorical', value: 'scanner B' });
    expect(source.inRegion).toBeGreaterThan(source.overall);
    for (const e of region.explanation) {
      expect(Object.keys(e).sort()).toEqual(
        ['column', 'effect', 'inRegion', 'kind', 'overall', 'statistic']
          .concat(e.value === undefined ? [] : ['value'])
          .sort()
      );
    }
    expect(region.name).toContain('source = scanner B');
    expect(region.name).toContain('thickness high');

    // The card's title, the region view's heading and its explanation list.
    const card = page.locator('.jp-SpotlightRegion-name').first();
    await expect(card).toContainText('source = scanner B');
    await expect(page.locator('#jupyterlab-spotlight-region h2')).toContainText(
      region.name
    );
    // The view's explanation list, best first (its charts are checked next).
    await expect(
      page
        .locator(
          '#jupyterlab-spotlight-region .jp-SpotlightExplanation-list li'
        )
        .first()
    ).toContainText(/source = scanner B|thickness high/);
    await expect(
      page.locator('.jp-SpotlightExplanation-charts .jp-SpotlightChart svg')
    ).toHaveCount(2, { timeout: 60000 });

    // The picker shows the table's columns with their kinds and missing values.
    // (The setup folds away after a run: its text is checked, not clicked.)
    const columnsBox = page.locator('.jp-SpotlightPanel-columns');
    await expect(columnsBox).toContainText('Explain regions by 4 of 4 columns');
    await expect(columnsBox).toContainText('source');
    await expect(columnsBox).toContainText('categorical · 3 values');
    await expect(columnsBox).toContainText('continuous · float64');
    await expect(columnsBox).toContainText(
      /continuous · datetime64\[\w+\], \d+ missing/
    );
    await expect(columnsBox.locator('input[type=checkbox]')).toHaveCount(4);

    // Excluding a column: the next run explains by the others only.
    const excluded = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'embeddings',
      losses: 'losses',
      metadata: 'meta',
      metadataColumns: ['flag', 'thickness', 'when'],
      count: 1,
      permutations: 0
    });
    const kept = (excluded.regions[0].explanation as any[]).map(e => e.column);
    expect(kept).not.toContain('source');
    expect(kept[0]).toBe('thickness');

    // Saved cells carry the name.
    await command(page, 'jupyterlab-spotlight:save-finding', { region: 0 });
    await expect(
      page.locator('.jp-MarkdownCell').filter({ hasText: 'thickness high' })
    ).toHaveCount(1);
  });

  test('a one-column DataFrame of strings is metadata', async ({ page }) => {
    await freshNotebook(page, 'cities.ipynb');
    const summary = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'embeddings',
      losses: 'losses',
      metadata: 'cities',
      count: 1,
      permutations: 0
    });
    expect(summary.regions).toHaveLength(1);
    expect(typeof summary.regions[0].name).toBe('string');
    await expect(page.locator('.jp-SpotlightPanel-columns')).toContainText(
      'Explain regions by 1 of 1 columns'
    );
  });

  test('embeddings held one vector per row: equal lengths run, a ragged row is refused before any transfer', async ({
    page
  }) => {
    await freshNotebook(page, 'vectors.ipynb');
    const summary = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: "vectors['emb']",
      losses: "vectors['loss']",
      count: 1,
      permutations: 0
    });
    expect(summary.n).toBe(800);
    expect(summary.d).toBe(4);
    let message = '';
    try {
      await command(page, 'jupyterlab-spotlight:run', {
        embeddings: "ragged['emb']",
        losses: "ragged['loss']",
        count: 1,
        permutations: 0
      });
    } catch (e) {
      message = String((e as Error).message ?? e);
    }
    expect(message).toContain('row 0 has 4 values but row 17 has 3');
    await expect(page.locator('.jp-SpotlightPanel-error')).toContainText(
      'ragged'
    );
  });
});

/**
 * Comparing two models through the panel: planted data where model B is
 * worse than model A on one cluster, and the demo's baseline comparison
 * end to end (pickers, cards, region view, saved cells).
 */
import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { command, DOCS, kernelExec, newNotebook, openDemo } from './helpers';

const PANEL = '#jupyterlab-spotlight-panel';
const REGION = '.jp-SpotlightRegion';
const DETAIL = '#jupyterlab-spotlight-region';

/** Planted data: B equals A (plus noise, +0.05) except +1.5 on cluster 0–99. */
const PLANTED = `
import numpy as np
rng = np.random.default_rng(3)
centres = rng.normal(0, 4, size=(9, 16))
which = np.concatenate([np.full(100, 8), rng.integers(0, 8, 4900)])
X = (centres[which] + rng.normal(0, np.where(which == 8, 0.6, 1.0)[:, None], size=(5000, 16))).astype(np.float32)
loss_a = rng.exponential(0.2, 5000).astype(np.float32)
loss_b = (np.maximum(0, loss_a + 0.05 + 0.1 * rng.normal(size=5000)) + np.where(which == 8, 1.5, 0)).astype(np.float32)
`;

test.describe('comparing two models', () => {
  test.setTimeout(300000);
  test.use({ kernels: null, viewport: { width: 1600, height: 1000 } });

  test('finds where model B is worse on planted data, and the improvement of the swapped pair', async ({
    page
  }) => {
    await newNotebook(page, 'compare.ipynb');
    await kernelExec(page, PLANTED);
    await command(page, 'jupyterlab-spotlight:open');
    const regression = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'X',
      losses: 'loss_b',
      referenceLosses: 'loss_a',
      count: 1
    });
    const planted = (r: any) =>
      (r.topIndices as number[]).filter(i => i < 100).length;
    expect(planted(regression.regions[0])).toBeGreaterThanOrEqual(95);
    expect(regression.regions[0].weightedLossDifference).toBeGreaterThan(1.3);
    expect(regression.regions[0].weightedLossReference).toBeLessThan(0.5);
    await expect(page.locator(`${REGION}-lift`).first()).toContainText('B +1.');

    const improvement = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'X',
      losses: 'loss_a',
      referenceLosses: 'loss_b',
      direction: 'improvement',
      count: 1
    });
    expect(planted(improvement.regions[0])).toBeGreaterThanOrEqual(95);
    expect(improvement.regions[0].weightedLossDifference).toBeLessThan(-1.3);

    // Identical losses are refused, naming both variables.
    await kernelExec(page, 'loss_c = loss_a.copy()');
    const refused = await page.evaluate(async () => {
      try {
        await (window as any).jupyterapp.commands.execute(
          'jupyterlab-spotlight:run',
          {
            embeddings: 'X',
            losses: 'loss_c',
            referenceLosses: 'loss_a',
            count: 1
          }
        );
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(refused).toContain(
      "The two models' losses are identical: 'loss_c' (model B) and 'loss_a' (model A)"
    );
  });

  test('the demo compares the new model with its baseline through the panel, and saves the finding', async ({
    page,
    tmpPath
  }) => {
    await openDemo(page, tmpPath);
    await page.notebook.run();
    const cells = await page.notebook.getCellCount();
    const printed = (await page.notebook.getCellTextOutput(cells - 1))!.join(
      '\n'
    );
    expect(printed).toMatch(/model A \(8 units\): accuracy 0\.9\d\d/);
    await command(page, 'jupyterlab-spotlight:open');
    await expect(page.locator('#jp-Spotlight-pick-losses')).toHaveValue(
      'losses'
    );
    // Comparisons are never pre-selected.
    await expect(
      page.locator('#jp-Spotlight-pick-referenceLosses')
    ).toHaveValue('');
    await expect(page.locator('#jp-Spotlight-opt-direction')).toBeDisabled();
    await page
      .locator('#jp-Spotlight-pick-referenceLosses')
      .selectOption('losses_baseline');
    await page
      .locator('#jp-Spotlight-pick-referencePredictions')
      .selectOption('predictions_baseline');
    await expect(page.locator('#jp-Spotlight-opt-direction')).toBeEnabled();
    await page.locator('.jp-SpotlightPanel-run').click();
    await expect(page.locator(REGION)).toHaveCount(5, { timeout: 240000 });
    const card = page.locator(REGION).first();
    await expect(card).toContainText('model B loss');
    await expect(card).toContainText('vs model A');
    await expect(card).toContainText('accuracy B');
    await expect(card.locator(`${REGION}-lift`)).toContainText(/B \+\d/);

    // The region view shows both models' losses.
    await card.click();
    await expect(page.locator(DETAIL)).toContainText('model B loss');
    // Loss, both models, labels, predictions, map, history, and the test.
    await expect(
      page.locator('.jp-SpotlightPanel-charts .jp-SpotlightChart')
    ).toHaveCount(7, {
      timeout: 120000
    });
    await expect(
      page.locator(`${DETAIL} .jp-SpotlightGallery-grid`)
    ).toHaveAttribute('aria-label', /predictions differ first/);
    await page.locator(PANEL).evaluate(node => node.scrollTo(0, 0));
    await page.locator(DETAIL).evaluate(node => node.scrollTo(0, 0));
    await page.screenshot({ path: path.join(DOCS, 'compare-light.png') });

    // Save region 1; the saved cell prints both models' losses.
    await page.notebook.selectCells(cells - 1);
    const indices = await command<number[]>(
      page,
      'jupyterlab-spotlight:save-finding',
      { region: 0 }
    );
    await page.notebook.runCell(indices[1]);
    const output = (await page.notebook.getCellTextOutput(indices[1]))!.join(
      '\n'
    );
    expect(output).toMatch(
      /model B \(losses\) loss \d\.\d{4} vs model A \(losses_baseline\) \d\.\d{4} in this region/
    );
    const markdown = await page.notebook.getCellLocator(indices[0]);
    await expect(markdown!).toContainText('Two models compared');
  });
});

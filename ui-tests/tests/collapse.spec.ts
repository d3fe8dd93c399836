/**
 * The collapse guard in the browser: the planted-digits fixture (a compact
 * group of 36 confidently wrong digits, where the paper's optimiser at its
 * defaults loses every example) on WebGL (SwiftShader here), through the
 * `run` command of a real JupyterLab with a real kernel.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import { command, kernelExec, newNotebook } from './helpers';

const FIXTURE = path.resolve(
  __dirname,
  '../../src/__tests__/fixtures/planted-digits'
);

test.describe('the collapse guard', () => {
  test.setTimeout(420000);
  test.use({ kernels: null });

  test('finds the planted group as region 1 on webgl, with K ≈ 1.05 S, and the card says the guard acted', async ({
    page
  }) => {
    const { group } = JSON.parse(
      fs.readFileSync(path.join(FIXTURE, 'group.json'), 'utf8')
    ) as { group: number[] };
    await newNotebook(page, 'collapse.ipynb');
    await kernelExec(
      page,
      [
        'import numpy as np',
        `embeddings = np.load(${JSON.stringify(path.join(FIXTURE, 'embeddings.npy'))})`,
        `losses = np.load(${JSON.stringify(path.join(FIXTURE, 'losses.npy'))})`
      ].join('\n')
    );
    await command(page, 'jupyterlab-spotlight:open');
    const summary = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'embeddings',
      losses: 'losses',
      count: 1,
      backend: 'webgl',
      // The subject is the guard: no significance test (49 more searches on
      // a software renderer would take many minutes).
      permutations: 0
    });
    expect(summary.backend).toBe('webgl');
    expect(summary.failure).toBeUndefined();
    const region = summary.regions[0];
    const size = Math.floor(0.02 * 1797);
    expect(region.guardSteps).toBeGreaterThan(0);
    expect(region.totalWeight).toBeGreaterThanOrEqual(0.97 * 1.05 * size);
    expect(region.totalWeight).toBeLessThanOrEqual(1.1 * 1.05 * size);
    const planted = new Set(group);
    const top = (region.topIndices as number[]).slice(0, group.length);
    expect(top.filter(i => planted.has(i)).length).toBe(group.length);

    await expect(page.locator('.jp-SpotlightRegion-guard')).toContainText(
      'collapse guard acted'
    );
    await expect(page.locator('.jp-SpotlightPanel-warning')).toContainText(
      'collapse guard acted'
    );
  });
});

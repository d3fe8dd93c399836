/**
 * The audit runs in a Web Worker: JupyterLab stays usable during a search
 * (a notebook cell is edited and run meanwhile), Cancel stops the worker,
 * and a new run works after it. Data: random embeddings made in the kernel,
 * large enough for a search that lasts several seconds.
 */
import { expect, galata, test } from '@jupyterlab/galata';
import type { Worker } from '@playwright/test';

import { command, kernelExec } from './helpers';

const WORKER = /spotlight-audit-worker/;

test.describe('the audit in a Web Worker', () => {
  test.setTimeout(300000);
  test.use({ kernels: null });

  test('a cell can be edited and run during a search; Cancel stops the worker and a new run works', async ({
    page
  }) => {
    const workers: Worker[] = [];
    page.on('worker', w => {
      if (WORKER.test(w.url())) {
        workers.push(w);
      }
    });
    await page.notebook.createNew('workers.ipynb');
    await page.notebook.setCell(0, 'code', 'print("before")');
    await page.notebook.runCell(0);
    await kernelExec(
      page,
      [
        'import numpy as np',
        'rng = np.random.default_rng(0)',
        'X = rng.standard_normal((30000, 64), dtype=np.float32)',
        'L = rng.random(30000).astype(np.float32)'
      ].join('\n')
    );
    await command(page, 'jupyterlab-spotlight:open');
    // Start a long search without waiting for it.
    await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      (window as any).__spotlightRun = app.commands
        .execute('jupyterlab-spotlight:run', {
          embeddings: 'X',
          losses: 'L',
          count: 5,
          steps: 5000,
          permutations: 0
        })
        .then(
          () => 'done',
          (e: Error) => `${e.name}: ${e.message}`
        );
    });
    const progress = page.locator('.jp-SpotlightPanel-progressText');
    await expect(progress).toContainText(/spotlight 1 of 5 · step/, {
      timeout: 120000
    });
    expect(workers.length).toBeGreaterThanOrEqual(1);

    // Edit a cell and run it while the search runs.
    await page.notebook.addCell('code', 'x = 41 + 1\nprint(f"answer {x}")');
    const cell = (await page.notebook.getCellCount()) - 1;
    await page.notebook.runCell(cell);
    const output = (await page.notebook.getCellTextOutput(cell))!.join('\n');
    expect(output).toContain('answer 42');
    // … and the search was still going (the cell did not wait for it).
    await expect(progress).toContainText(/spotlight \d of 5 · step/);
    expect(
      await page.evaluate(() => {
        const app = (window as any).jupyterapp;
        return app.commands.isEnabled('jupyterlab-spotlight:cancel');
      })
    ).toBe(true);

    // Cancel: the run ends as cancelled and the worker is gone.
    const running = workers[workers.length - 1];
    const closed = new Promise<void>(resolve =>
      running.on('close', () => resolve())
    );
    await page.locator('.jp-SpotlightPanel-cancel').click();
    expect(await page.evaluate(() => (window as any).__spotlightRun)).toMatch(
      /AbortError|cancel/i
    );
    await closed;
    expect(page.workers().filter(w => w === running)).toHaveLength(0);
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeEnabled();

    // A new run works (in a new worker).
    const summary = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'X',
      losses: 'L',
      count: 1,
      steps: 300,
      permutations: 0
    });
    expect(summary.regions).toHaveLength(1);
    expect(summary.n).toBe(30000);
    expect(summary.regions[0].totalWeight).toBeGreaterThan(0);
    await expect(page.locator('.jp-SpotlightRegion')).toHaveCount(1);
  });

  test('a run with 2 search workers finds the same regions as with 1', async ({
    page
  }) => {
    await page.notebook.createNew('shards.ipynb');
    await page.notebook.setCell(0, 'code', 'print("ready")');
    await page.notebook.runCell(0);
    await kernelExec(
      page,
      [
        'import numpy as np',
        'rng = np.random.default_rng(1)',
        'X = rng.standard_normal((4000, 8), dtype=np.float32)',
        'L = (rng.random(4000) + 3 * (X[:, 0] > 1.2)).astype(np.float32)'
      ].join('\n')
    );
    await command(page, 'jupyterlab-spotlight:open');
    const run = (workers: number, backend: string) =>
      command<any>(page, 'jupyterlab-spotlight:run', {
        embeddings: 'X',
        losses: 'L',
        count: 2,
        steps: 300,
        permutations: 0,
        backend,
        workers
      });
    // The float64 path: the same regions, K and weighted loss up to the
    // order of the float64 sums.
    const one = await run(1, 'cpu');
    const two = await run(2, 'cpu');
    expect(one.backendReason).toContain('· 1 search worker');
    expect(two.backendReason).toContain('· 2 search workers');
    expect(two.regions).toHaveLength(one.regions.length);
    one.regions.forEach((r: any, j: number) => {
      const s = two.regions[j];
      expect(s.supportSize).toBe(r.supportSize);
      expect(Math.abs(s.totalWeight - r.totalWeight)).toBeLessThanOrEqual(
        1e-6 * r.totalWeight
      );
      expect(Math.abs(s.weightedLoss - r.weightedLoss)).toBeLessThanOrEqual(
        1e-6 * Math.abs(r.weightedLoss)
      );
      expect(s.topIndices).toEqual(r.topIndices);
    });
    // The panel shows them.
    await expect(page.locator('.jp-SpotlightRegion')).toHaveCount(2);
    // WASM shards run too.
    const wasm = await run(2, 'wasm');
    expect(wasm.backend).toBe('wasm');
    expect(wasm.backendReason).toContain('· 2 search workers');
    expect(wasm.regions[0].supportSize).toBeGreaterThan(0);
  });
});

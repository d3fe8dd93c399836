import { expect, test } from '@jupyterlab/galata';

import { command, kernelExec, openDemo } from './helpers';

test.describe('a saved finding re-checks itself', () => {
  test.setTimeout(240000);
  // As in audit.spec.ts: galata's kernel mock breaks kernel restarts.
  test.use({ kernels: null });

  test('re-runs a saved cell after `losses` changed and reads fixed / still there', async ({
    page,
    tmpPath
  }) => {
    await openDemo(page, tmpPath);
    await page.notebook.run();
    await command(page, 'jupyterlab-spotlight:open');
    const summary = await command<any>(page, 'jupyterlab-spotlight:run', {
      embeddings: 'embeddings',
      losses: 'losses',
      count: 1,
      steps: 2000
    });
    expect(summary.regions).toHaveLength(1);

    // Save region 1 after the last cell and run its code cell: unchanged
    // data, so the weakness is still there.
    const cellsBefore = await page.notebook.getCellCount();
    await page.notebook.selectCells(cellsBefore - 1);
    const indices = await command<number[]>(
      page,
      'jupyterlab-spotlight:save-finding',
      { region: 0 }
    );
    expect(indices).toEqual([cellsBefore, cellsBefore + 1]);
    const code = indices[1];
    const markdown = await page.evaluate(index => {
      const notebook = (window as any).jupyterapp.shell.currentWidget.content;
      return notebook.model.sharedModel.cells[index].getSource() as string;
    }, indices[0]);
    expect(markdown).toContain('Re-check:');
    expect(markdown).toContain('Assert mode off');
    await page.notebook.runCell(code);
    const output = (await page.notebook.getCellTextOutput(code))!.join('\n');
    expect(output).toContain('Spotlight region 1: K =');
    expect(output).toMatch(/Spotlight region 1: lift [\d.]+× now \(saved/);
    expect(output).toContain('the weakness is still there.');
    expect(output).not.toContain('changed since this finding was saved');

    // "Retrained" on the same embeddings: every loss equal, so the region's
    // lift is 1 and the weakness reads fixed, with no fingerprint warning.
    await kernelExec(
      page,
      'import numpy as np\nlosses = np.full_like(losses, losses.mean())'
    );
    await page.notebook.runCell(code);
    const rechecked = (await page.notebook.getCellTextOutput(code))!.join('\n');
    expect(rechecked).toContain('lift 1.00× now');
    expect(rechecked).toContain('the weakness is fixed.');
    expect(rechecked).not.toContain('still there');
    expect(rechecked).not.toContain('changed since this finding was saved');
  });
});

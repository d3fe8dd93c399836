import { expect, test } from '@jupyterlab/galata';

import { openDemo } from './helpers';

const PANEL = '#jupyterlab-spotlight-panel';

test.describe('foundation', () => {
  test('the extension activates without console errors', async ({ page }) => {
    const errors: string[] = [];
    page.on('console', message => {
      if (message.type() === 'error') {
        errors.push(message.text());
      }
    });
    await page.reload();
    await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
    const plugins = await page.evaluate(() =>
      (window as any).jupyterapp.hasPlugin('jupyterlab-spotlight:plugin')
    );
    expect(plugins).toBe(true);
    expect(errors.filter(e => /spotlight/i.test(e))).toEqual([]);
  });

  test('the panel opens from the palette and is restored after a reload', async ({
    page
  }) => {
    await page.keyboard.press('Control+Shift+C');
    await page
      .locator('#command-palette input')
      .fill('Open the Spotlight Panel');
    await page.keyboard.press('Enter');
    await expect(page.locator(PANEL)).toBeVisible();
    await expect(page.locator(PANEL)).toContainText('Open a notebook');
    // Wait for the layout to be saved, then reload: the panel must come back.
    await page.waitForRequest(
      request =>
        request.url().includes('/api/workspaces') && request.method() === 'PUT'
    );
    await page.reload();
    await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
    await expect(page.locator(PANEL)).toBeVisible();
  });

  test('the demo notebook runs and the toolbar button opens the panel', async ({
    page,
    tmpPath
  }) => {
    await openDemo(page, tmpPath);
    await page.notebook.run();
    const outputs = (
      await Promise.all(
        [1, 2, 3, 5, 7].map(i => page.notebook.getCellTextOutput(i))
      )
    )
      .flat()
      .join('\n');
    expect(outputs).toContain('1,797 images of 8×8 pixels, 10 classes');
    expect(outputs).toMatch(/out-of-fold accuracy 0\.9\d\d/);
    expect(outputs).toContain('embeddings (1797, 32) float32');
    expect(outputs).toContain('open the Spotlight panel');
    await page
      .locator(
        '.jp-NotebookPanel-toolbar [data-jp-item-name="spotlight"] button, .jp-NotebookPanel-toolbar [data-jp-item-name="spotlight"]'
      )
      .first()
      .click();
    await expect(page.locator(PANEL)).toBeVisible();
    await expect(page.locator('#jp-Spotlight-pick-embeddings')).toHaveValue(
      'embeddings'
    );
    await expect(page.locator('#jp-Spotlight-pick-losses')).toHaveValue(
      'losses'
    );
    await expect(page.locator('#jp-Spotlight-pick-labels')).toHaveValue(
      'labels'
    );
    await expect(page.locator('#jp-Spotlight-pick-predictions')).toHaveValue(
      'predictions'
    );
    await expect(page.locator('#jp-Spotlight-pick-examples')).toHaveValue(
      'images'
    );

    // An invalid option is shown as such and blocks the run; fixing it unblocks.
    const size = page.locator('#jp-Spotlight-opt-spotlightSize');
    await size.fill('1.5');
    await expect(
      page.locator('#jp-Spotlight-opt-spotlightSize-problem')
    ).not.toBeEmpty();
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeDisabled();
    await size.fill('0.05');
    await expect(
      page.locator('#jp-Spotlight-opt-spotlightSize-problem')
    ).toBeEmpty();
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeEnabled();
    await expect(page.locator('#jp-Spotlight-size-hint')).toContainText(
      'S = 89 of N = 1,797'
    );
    // A learning rate must be > 0 (the form's `min` alone would accept 0),
    // and the disabled button says why.
    const rate = page.locator('#jp-Spotlight-opt-learningRate');
    await rate.fill('0');
    await expect(
      page.locator('#jp-Spotlight-opt-learningRate-problem')
    ).toHaveText('Must be greater than 0.');
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeDisabled();
    await expect(page.locator('.jp-SpotlightPanel-run')).toHaveAttribute(
      'title',
      'Fix the search options above first.'
    );
    await rate.fill('0.01');
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeEnabled();

    // Cancel during the search returns the panel to a usable state (a long
    // search, so that the cancel surely lands while it runs).
    await page.locator('#jp-Spotlight-opt-steps').fill('100000');
    await page.locator('.jp-SpotlightPanel-run').click();
    await expect(page.locator('.jp-SpotlightPanel-progressText')).toContainText(
      'Searching'
    );
    await page.locator('.jp-SpotlightPanel-cancel').click();
    await expect(page.locator('.jp-SpotlightPanel-progressText')).toHaveText(
      'Cancelled. Nothing was found yet; press Find spotlights to search again.'
    );
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeEnabled();
  });
});

/**
 * Jupyter Notebook 7: the panel opens in the right sidebar from the notebook
 * toolbar (and is in the command palette), an audit of the demo runs end to
 * end, and a region's view (charts and examples) opens in the down area under
 * the notebook, next to the panel (src/placement.ts says why there).
 * A real `jupyter notebook` server and ipykernel (playwright-notebook.config.js).
 */
import { expect, test } from '@playwright/test';
import * as path from 'path';

const PANEL = '#jupyterlab-spotlight-panel';
const REGION = '.jp-SpotlightRegion';
const DETAIL = '#jupyterlab-spotlight-region';
const DOWN = '#jp-down-stack';
const DOCS = path.resolve(__dirname, '../../docs');

test('Notebook 7: toolbar → panel → audit → region view in the down area', async ({
  page
}) => {
  const messages: string[] = [];
  page.on('console', m => {
    if (m.type() === 'error' || /Unsatisfied version/.test(m.text())) {
      messages.push(m.text());
    }
  });
  await page.goto('notebooks/examples/digits_audit.ipynb');
  await page.waitForFunction(
    () => (window as any).jupyterapp?.shell?.currentWidget?.sessionContext,
    null,
    { timeout: 60000 }
  );
  const app = await page.evaluate(() => {
    const a = (window as any).jupyterapp;
    return { name: a.name, version: a.version };
  });
  expect(app.name).toBe('Jupyter Notebook');
  expect(app.version).toMatch(/^7\./);

  // Run the demo (trains a small MLP: ~10 s).
  await page.evaluate(async () => {
    const a = (window as any).jupyterapp;
    await a.shell.currentWidget.sessionContext.ready;
    await a.commands.execute('notebook:run-all-cells');
  });
  await expect(
    page.locator('.jp-OutputArea-output', {
      hasText: 'open the Spotlight panel'
    })
  ).toHaveCount(1, { timeout: 120000 });

  // The command palette lists the Spotlight's commands.
  const palette = await page.evaluate(() =>
    (window as any).jupyterapp.commands.hasCommand(
      'apputils:activate-command-palette'
    )
  );
  expect(palette).toBe(true);
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute(
      'apputils:activate-command-palette'
    )
  );
  await page.keyboard.type('Spotlight Panel');
  await expect(
    page.locator('.lm-CommandPalette-item', {
      hasText: 'Open the Spotlight Panel'
    })
  ).toBeVisible();
  await page.keyboard.press('Escape');

  // The toolbar button opens the panel in the right sidebar.
  await page
    .locator(
      '.jp-NotebookPanel-toolbar [data-jp-item-name="spotlight"] button, .jp-NotebookPanel-toolbar [data-jp-item-name="spotlight"]'
    )
    .first()
    .click();
  await expect(page.locator(`#jp-right-stack ${PANEL}`)).toBeVisible();
  await expect(page.locator('#jp-Spotlight-pick-embeddings')).toHaveValue(
    'embeddings'
  );

  // The audit, end to end, with the panel's own button and default options.
  await page.locator('.jp-SpotlightPanel-run').click();
  await expect(page.locator(REGION)).toHaveCount(5, { timeout: 300000 });
  await expect(page.locator('.jp-SpotlightPanel-run')).toBeEnabled({
    timeout: 120000
  });

  // A region's view opens under the notebook, the panel stays visible.
  await page.locator(`${REGION}[data-region="1"]`).click();
  const detail = page.locator(`${DOWN} ${DETAIL}`);
  await expect(detail).toBeVisible();
  await expect(page.locator(`${DOWN} .lm-TabBar-tabLabel`)).toContainText(
    'Spotlight region 2'
  );
  await expect(detail.locator('.jp-SpotlightChart svg').first()).toBeVisible();
  await expect(
    detail.locator('.jp-SpotlightGallery-image').first()
  ).toBeVisible();
  expect(await detail.locator('.jp-SpotlightChart').count()).toBeGreaterThan(2);
  // The audit view (map, region list, this detail) gets a real share of the
  // page (a draggable split), not a tab bar.
  const box = await page
    .locator(`${DOWN} .jp-SpotlightAuditView`)
    .boundingBox();
  expect(box?.height ?? 0).toBeGreaterThan(300);
  await expect(page.locator(PANEL)).toBeVisible();
  // The notebook is still the page's document.
  await expect(page.locator('#main-panel .jp-NotebookPanel')).toBeVisible();

  // Another region replaces the view's content (one view, not one per click).
  await page.locator(`${REGION}[data-region="0"]`).click();
  await expect(page.locator(`${DOWN} .lm-TabBar-tabLabel`)).toContainText(
    'Spotlight region 1'
  );
  await expect(page.locator(`${DOWN} ${DETAIL}`)).toHaveCount(1);

  await page.screenshot({ path: path.join(DOCS, 'notebook7.png') });
  expect(messages.filter(m => /Unsatisfied version/.test(m))).toEqual([]);
});

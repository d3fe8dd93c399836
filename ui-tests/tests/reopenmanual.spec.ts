import { expect, test } from '@jupyterlab/galata';

import { auditDemo, command, DEMO_RUN } from './helpers';

const VIEW = '#jupyterlab-spotlight-audit';
const ITEM = `${VIEW} .jp-SpotlightAudit-region`;
const ROWS = [12, 345, 678, 901, 1234];

test.describe('saved findings with a manual region', () => {
  test.setTimeout(300000);
  test.use({ viewport: { width: 1280, height: 800 } });

  test('"Saved findings" brings a saved manual region back with its number, name and examples', async ({
    page,
    tmpPath
  }) => {
    await auditDemo(page, tmpPath);
    const region = await command<any>(page, 'jupyterlab-spotlight:add-region', {
      indices: ROWS,
      name: 'hand picked'
    });
    expect(region.region).toBe(2);
    // Save found region 1 and the manual region 3.
    await command(page, 'jupyterlab-spotlight:save-finding', { region: 0 });
    await command(page, 'jupyterlab-spotlight:save-finding', { region: 2 });

    // Another audit replaces what is on screen (one region, no manual one).
    await command(page, 'jupyterlab-spotlight:run', { ...DEMO_RUN, count: 1 });
    await expect(page.locator(ITEM)).toHaveCount(1);

    // Reopen: both saved regions, with their saved numbers and names.
    const reopened = await command<number>(
      page,
      'jupyterlab-spotlight:open-findings',
      { discard: true }
    );
    expect(reopened).toBe(2);
    await expect(page.locator(ITEM)).toHaveCount(2);
    await expect(
      page.locator(`${ITEM}[data-region="0"] .jp-SpotlightAudit-regionName`)
    ).toHaveText(/^1\. /);
    await expect(
      page.locator(`${ITEM}[data-region="1"] .jp-SpotlightAudit-regionName`)
    ).toHaveText('3. hand picked');
    await expect(page.locator(`${ITEM}[data-region="1"]`)).toContainText(
      '5 examples · drawn'
    );
    await expect(
      page.locator(`${VIEW} .jp-SpotlightMap-label[data-region="1"]`)
    ).toHaveText('3 · hand picked');

    // Its examples are the saved rows.
    await page.locator(`${ITEM}[data-region="1"]`).click();
    await expect(page.locator(`${VIEW} .jp-SpotlightGallery-item`)).toHaveCount(
      ROWS.length
    );
    const shown = await page
      .locator(`${VIEW} .jp-SpotlightGallery-item`)
      .evaluateAll(items =>
        items.map(li => Number((li as HTMLElement).dataset.index))
      );
    expect([...shown].sort((a, b) => a - b)).toEqual(ROWS);
  });
});

import { expect, test } from '@jupyterlab/galata';
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import * as path from 'path';

import { auditDemo, command, DOCS, kernelExec } from './helpers';

const VIEW = '#jupyterlab-spotlight-audit';
const MAP = `${VIEW} .jp-SpotlightMap`;
const ITEM = `${VIEW} .jp-SpotlightAudit-region`;

/** Evaluate a function of the audit view's overview map in the page. */
async function onMap<T>(
  page: IJupyterLabPageFixture,
  fn: string,
  arg: unknown = null
): Promise<T> {
  return page.evaluate(
    ({ fn, arg }) => {
      const app = (window as any).jupyterapp;
      const view = Array.from(app.shell.widgets('main') as any).find(
        (w: any) => w.id === 'jupyterlab-spotlight-audit'
      ) as any;
      // eslint-disable-next-line no-new-func
      return new Function('map', 'arg', fn)(view.content.map, arg);
    },
    { fn, arg }
  );
}

/**
 * The demo notebook in the page: its cell count, or run its cell k and
 * return the cell's text output (the audit view may be the current widget,
 * so galata's current-notebook helpers do not apply).
 */
async function onNotebook(
  page: IJupyterLabPageFixture,
  action: 'count' | 'select' | 'run',
  k = 0
): Promise<any> {
  return page.evaluate(
    async ({ action, k }) => {
      const app = (window as any).jupyterapp;
      const panel = Array.from(app.shell.widgets('main') as any).find(
        (w: any) => w.sessionContext && w.context?.path?.endsWith('.ipynb')
      ) as any;
      const cells = panel.content.model.cells;
      if (action === 'count') {
        return cells.length;
      }
      panel.content.activeCellIndex = k;
      if (action === 'select') {
        return k;
      }
      app.shell.activateById(panel.id);
      await app.commands.execute('notebook:run-cell');
      const outputs = cells.get(k).outputs.toJSON() as any[];
      return outputs
        .map(o =>
          o.output_type === 'stream'
            ? [].concat(o.text).join('')
            : o.output_type === 'error'
              ? `${o.ename}: ${o.evalue}`
              : ''
        )
        .join('\n');
    },
    { action, k }
  );
}

test.describe('the audit view', () => {
  test.setTimeout(300000);
  test.use({ viewport: { width: 1280, height: 800 } });

  test('draws every example, highlights the regions, and a lasso makes a manual region saved into cells that recreate it', async ({
    page,
    tmpPath
  }) => {
    const summary = await auditDemo(page, tmpPath);
    expect(summary.regions).toHaveLength(2);
    await page.sidebar.close('left');

    // The view opens beside the notebook, which stays usable.
    await expect(page.locator(VIEW)).toBeVisible();
    await expect(page.locator(MAP)).toHaveAttribute('data-points', '1797', {
      timeout: 60000
    });
    const notebookBox = await page
      .locator('.jp-NotebookPanel:visible')
      .first()
      .boundingBox();
    const viewBox = await page.locator(VIEW).boundingBox();
    expect(notebookBox!.width).toBeGreaterThan(300);
    expect(viewBox!.x).toBeGreaterThanOrEqual(
      notebookBox!.x + notebookBox!.width - 10
    );
    await expect(page.locator(ITEM)).toHaveCount(2);
    await expect(page.locator(`${VIEW} .jp-SpotlightMap-label`)).toHaveCount(2);
    await expect(page.locator(`${VIEW} .jp-SpotlightMap-legend`)).toContainText(
      '99th percentile'
    );

    // The highlight drawn is region 1's kernel weights: its brightest points
    // are the region's heaviest examples.
    const brightest = await onMap<number[]>(
      page,
      'return map.highlightedIndices(20);'
    );
    expect(new Set(brightest)).toEqual(
      new Set(summary.regions[0].topIndices.slice(0, 20))
    );
    // Selecting region 2 redraws its highlight.
    await page.locator(`${ITEM}[data-region="1"]`).click();
    await expect
      .poll(
        async () =>
          new Set(
            await onMap<number[]>(page, 'return map.highlightedIndices(20);')
          )
      )
      .toEqual(new Set(summary.regions[1].topIndices.slice(0, 20)));
    await page.locator(`${ITEM}[data-region="0"]`).click();

    // The examples of region 1 open on the highest contribution k·ℓ.
    await command(page, 'jupyterlab-spotlight:export-region', {
      region: 0,
      name: 'region_w'
    });
    const expected = JSON.parse(
      await kernelExec(
        page,
        'import numpy as np, json\nc = region_w * losses\nprint(json.dumps([int(i) for i in np.argsort(-c, kind="stable")[:5]]))'
      )
    );
    await expect(
      page.locator(`${VIEW} .jp-SpotlightGallery-item`).first()
    ).toBeVisible();
    const shown = await page
      .locator(`${VIEW} .jp-SpotlightGallery-item`)
      .evaluateAll(items =>
        items.slice(0, 5).map(li => Number((li as HTMLElement).dataset.index))
      );
    expect(shown).toEqual(expected);
    await expect(
      page.locator(`${VIEW} .jp-SpotlightGallery-caption`).first()
    ).toContainText('of the region’s loss');

    // Hover shows the example (one of region 1's, not under a label).
    const [hx, hy] = await onMap<[number, number]>(
      page,
      `const stage = map.node.querySelector('.jp-SpotlightMap-stage').getBoundingClientRect();
       for (const i of arg) {
         const [x, y] = map.screenPosition(i);
         const hit = document.elementFromPoint(stage.left + x, stage.top + y);
         if (hit && hit.tagName === 'CANVAS') {
           return [stage.left + x, stage.top + y];
         }
       }
       return null;`,
      summary.regions[0].topIndices
    );
    await page.mouse.move(hx - 3, hy - 3);
    await page.mouse.move(hx, hy, { steps: 3 });
    await expect(page.locator(`${MAP} .jp-SpotlightMap-tooltip`)).toBeVisible();

    // A lasso around region 1's label selects a group of points.
    await page.locator(`${VIEW} .jp-SpotlightMap-lasso`).click();
    const label = await page
      .locator(`${VIEW} .jp-SpotlightMap-label[data-region="0"]`)
      .boundingBox();
    const cx = label!.x + label!.width / 2;
    const cy = label!.y + label!.height / 2;
    const radius = 35;
    await page.mouse.move(cx + radius, cy);
    await page.mouse.down();
    // (Stop short of the start: a lasso ending where it began is a click.)
    for (let s = 1; s <= 34; s++) {
      const a = (s / 36) * 2 * Math.PI;
      await page.mouse.move(
        cx + radius * Math.cos(a),
        cy + radius * Math.sin(a),
        {
          steps: 2
        }
      );
    }
    await page.mouse.up();
    await expect
      .poll(async () =>
        Number(await page.locator(MAP).getAttribute('data-selected'))
      )
      .toBeGreaterThan(3);
    const selection = await onMap<number[]>(page, 'return [...map.selection];');

    // One click sends it to the kernel as an index array.
    await page.locator(`${VIEW} .jp-SpotlightMap-send`).click();
    await expect(page.locator(`${MAP} .jp-SpotlightMap-info`)).toContainText(
      "'spotlight_selection'"
    );
    const sent = await kernelExec(
      page,
      'print(json.dumps(spotlight_selection.tolist(), separators=(",", ":")), spotlight_selection.dtype)'
    );
    expect(sent.trim()).toBe(`${JSON.stringify(selection)} int32`);

    // It becomes a manual region with a card, charts and Save.
    await page.locator(`${VIEW} .jp-SpotlightMap-make`).click();
    await expect(page.locator(ITEM)).toHaveCount(3);
    await expect(page.locator(`${ITEM}[data-region="2"]`)).toContainText(
      'Selection 1'
    );
    await expect(page.locator(`${ITEM}[data-region="2"]`)).toHaveAttribute(
      'aria-selected',
      'true'
    );
    await expect(page.locator('.jp-SpotlightRegion')).toHaveCount(3);
    await expect(
      page.locator(`${VIEW} .jp-SpotlightChart svg`).first()
    ).toBeVisible();

    // Save it after the last cell, run its code cell: the weights come back.
    const cellsBefore = await onNotebook(page, 'count');
    await onNotebook(page, 'select', cellsBefore - 1);
    await page
      .locator(`${ITEM}[data-region="2"] .jp-SpotlightAudit-save`)
      .click();
    await expect.poll(() => onNotebook(page, 'count')).toBe(cellsBefore + 2);
    const output: string = await onNotebook(page, 'run', cellsBefore + 1);
    expect(output).toContain(`Selection 1: ${selection.length} examples`);
    const recreated = await kernelExec(
      page,
      'print(json.dumps(np.flatnonzero(spotlight_region_3 == 1).tolist(), separators=(",", ":")), float(spotlight_region_3.sum()), spotlight_region_3.dtype)'
    );
    expect(recreated.trim()).toBe(
      `${JSON.stringify(selection)} ${selection.length.toFixed(1)} float32`
    );

    // Screenshots for the README, light and dark, at 1,280 × 800.
    await page.mouse.move(5, 5);
    await page.screenshot({ path: path.join(DOCS, 'audit-view-light.png') });
    await page.theme.setDarkTheme();
    await expect(page.locator(MAP)).toHaveAttribute('data-points', '1797');
    await page.screenshot({ path: path.join(DOCS, 'audit-view-dark.png') });
    await page.theme.setLightTheme();
  });

  test('add-region from a script returns the mean loss, refuses unknown arguments, and the view reopens after being closed', async ({
    page,
    tmpPath
  }) => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await auditDemo(page, tmpPath);
    await expect(page.locator(MAP)).toHaveAttribute('data-points', '1797', {
      timeout: 60000
    });
    const region = await command<any>(page, 'jupyterlab-spotlight:add-region', {
      indices: [3, 1, 4, 1, 5],
      name: 'five rows'
    });
    const mean = Number(
      await kernelExec(page, 'print(float(losses[[1, 3, 4, 5]].mean()))')
    );
    expect(region.region).toBe(2);
    expect(region.name).toBe('five rows');
    expect(region.supportSize).toBe(4);
    expect(region.weightedLoss).toBeCloseTo(mean, 5);
    expect(region.pValue).toBeNull();
    await expect(page.locator(`${ITEM}[data-region="2"]`)).toContainText(
      'five rows'
    );
    await expect(
      command(page, 'jupyterlab-spotlight:add-region', {
        indices: [1],
        colour: 'red'
      })
    ).rejects.toThrow(/unknown argument\(s\): colour/);
    await expect(
      command(page, 'jupyterlab-spotlight:add-region', { indices: [5000] })
    ).rejects.toThrow(/indices must be whole numbers from 0 to 1796/);
    await page.screenshot({ path: path.join(DOCS, 'audit-view-1920.png') });

    // Closed with its ✕, the view comes back on the next inspect.
    await page
      .locator(
        '.lm-TabBar-tab[data-id="jupyterlab-spotlight-audit"] .lm-TabBar-tabCloseIcon'
      )
      .click();
    await expect(page.locator(VIEW)).toHaveCount(0);
    await command(page, 'jupyterlab-spotlight:inspect-region', { region: 1 });
    await expect(page.locator(VIEW)).toBeVisible();
    await expect(page.locator(`${ITEM}[data-region="1"]`)).toHaveAttribute(
      'aria-selected',
      'true'
    );
    await expect(page.locator(MAP)).toHaveAttribute('data-points', '1797');
    // And by its own command, after another close.
    await page
      .locator(
        '.lm-TabBar-tab[data-id="jupyterlab-spotlight-audit"] .lm-TabBar-tabCloseIcon'
      )
      .click();
    await expect(page.locator(VIEW)).toHaveCount(0);
    await command(page, 'jupyterlab-spotlight:open-audit-view');
    await expect(page.locator(VIEW)).toBeVisible();

    // Keyboard: the region list moves with the arrows, the map steps
    // through the region's examples.
    await page.locator(`${VIEW} .jp-SpotlightAudit-regionList`).focus();
    await page.keyboard.press('Home');
    await expect(page.locator(`${ITEM}[data-region="0"]`)).toHaveAttribute(
      'aria-selected',
      'true'
    );
    await page.locator(`${MAP} .jp-SpotlightMap-stage`).focus();
    await page.keyboard.press('ArrowRight');
    await expect(page.locator(MAP)).toHaveAttribute('data-selected', '1');
    await expect(page.locator(`${MAP} .jp-SpotlightMap-info`)).toContainText(
      'in regions:'
    );
    await page.keyboard.press('Escape');
    await expect(page.locator(MAP)).toHaveAttribute('data-selected', '0');
  });
});

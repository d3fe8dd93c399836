import { expect, test } from '@jupyterlab/galata';
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';

import { auditDemo } from './helpers';

const VIEW = '#jupyterlab-spotlight-audit';
const MAP = `${VIEW} .jp-SpotlightMap`;

/** Evaluate a function of the audit view's overview map in the page. */
async function onMap<T>(page: IJupyterLabPageFixture, fn: string): Promise<T> {
  return page.evaluate(fn => {
    const app = (window as any).jupyterapp;
    const view = Array.from(app.shell.widgets('main') as any).find(
      (w: any) => w.id === 'jupyterlab-spotlight-audit'
    ) as any;
    // eslint-disable-next-line no-new-func
    return new Function('map', fn)(view.content.map);
  }, fn);
}

test.describe('the overview map’s UMAP layout', () => {
  test.setTimeout(300000);
  test.use({ viewport: { width: 1280, height: 800 } });

  test('switching to UMAP shows its progress and redraws every example at new places; PCA comes back', async ({
    page,
    tmpPath
  }) => {
    const summary = await auditDemo(page, tmpPath);
    await expect(page.locator(MAP)).toHaveAttribute('data-points', '1797', {
      timeout: 60000
    });
    await expect(page.locator(MAP)).toHaveAttribute('data-layout', 'pca');
    const pca = await onMap<number[]>(
      page,
      'return Array.from(map.mapLayout.xy.slice(0, 40));'
    );

    // Record what the layout status says while UMAP computes.
    await page.evaluate(sel => {
      const status = document.querySelector(
        `${sel} .jp-SpotlightMap-layoutStatus`
      )!;
      const seen: string[] = ((window as any).umapStatus = []);
      new MutationObserver(() => seen.push(status.textContent ?? '')).observe(
        status,
        { childList: true, characterData: true, subtree: true }
      );
    }, MAP);
    await page.locator(`${MAP} .jp-SpotlightMap-layout`).selectOption('umap');
    await expect(page.locator(MAP)).toHaveAttribute('data-layout', 'umap', {
      timeout: 120000
    });
    const seen = await page.evaluate(() => (window as any).umapStatus);
    expect(seen.some((t: string) => /^UMAP \d+ %/.test(t))).toBe(true);
    await expect(
      page.locator(`${MAP} .jp-SpotlightMap-layoutStatus`)
    ).toHaveText('');

    // Every example is drawn again, at UMAP's places (finite, not PCA's).
    const umap = await onMap<{ method: string; n: number; finite: boolean }>(
      page,
      'const l = map.mapLayout; return { method: l.method, n: l.xy.length / 2, finite: l.xy.every(Number.isFinite) };'
    );
    expect(umap).toEqual({ method: 'umap', n: 1797, finite: true });
    const moved = await onMap<number[]>(
      page,
      'return Array.from(map.mapLayout.xy.slice(0, 40));'
    );
    expect(moved).not.toEqual(pca);
    await expect(page.locator(MAP)).toHaveAttribute('data-points', '1797');
    // The highlight is still region 1's heaviest examples, and its label is
    // on the map.
    expect(
      new Set(await onMap<number[]>(page, 'return map.highlightedIndices(20);'))
    ).toEqual(new Set(summary.regions[0].topIndices.slice(0, 20)));
    await expect(page.locator(`${VIEW} .jp-SpotlightMap-label`)).toHaveCount(2);
    const [x, y] = await onMap<[number, number]>(
      page,
      `return map.screenPosition(${summary.regions[0].topIndices[0]});`
    );
    const box = await page
      .locator(`${MAP} .jp-SpotlightMap-stage`)
      .boundingBox();
    expect(x).toBeGreaterThanOrEqual(0);
    expect(y).toBeGreaterThanOrEqual(0);
    expect(x).toBeLessThanOrEqual(box!.width);
    expect(y).toBeLessThanOrEqual(box!.height);

    // Back to PCA: the same places as before.
    await page.locator(`${MAP} .jp-SpotlightMap-layout`).selectOption('pca');
    await expect(page.locator(MAP)).toHaveAttribute('data-layout', 'pca');
    expect(
      await onMap<number[]>(
        page,
        'return Array.from(map.mapLayout.xy.slice(0, 40));'
      )
    ).toEqual(pca);
  });
});

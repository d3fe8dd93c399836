/**
 * The rough edges of issue 15, item 5: each one checked on a real
 * JupyterLab, a real ipykernel and Debian's chromium.
 */
import { expect, test } from '@jupyterlab/galata';

import { command, kernelExec, newNotebook } from './helpers';

const SETUP = `
import numpy as np
rng = np.random.default_rng(0)
emb = rng.normal(size=(400, 8)).astype(np.float32)
loss = rng.random(400).astype(np.float32)
loss_a = rng.random(400).astype(np.float32)
one_d = np.zeros(400)
cube = np.zeros((400, 8, 8), dtype=np.float32)
words = np.array([['a', 'b']] * 400)
big_emb = rng.normal(size=(20000, 32)).astype(np.float32)
big_loss = rng.random(20000).astype(np.float32)
`;

const RESULTS_TITLE = '.jp-SpotlightPanel-results h3';
const PROGRESS = '.jp-SpotlightPanel-progressText';

/** Start a run without waiting for it; its outcome lands in window.__run. */
async function startRun(page: any, args: Record<string, unknown>) {
  await page.evaluate((a: Record<string, unknown>) => {
    const app = (window as any).jupyterapp;
    (window as any).__run = app.commands
      .execute('jupyterlab-spotlight:run', a)
      .then(
        () => 'done',
        (reason: Error) => String(reason?.message ?? reason)
      );
  }, args);
}

/** Run a command in the page; resolve to its result or its error message, and the time it took. */
async function attempt(
  page: any,
  id: string,
  args: Record<string, unknown> = {}
): Promise<{ value?: any; error?: string; ms: number }> {
  return page.evaluate(
    async ({ id, args }: { id: string; args: Record<string, unknown> }) => {
      const started = performance.now();
      try {
        const app = (window as any).jupyterapp;
        const value = await app.commands.execute(id, args);
        return { value, ms: performance.now() - started };
      } catch (reason) {
        return {
          error: String((reason as Error).message ?? reason),
          ms: performance.now() - started
        };
      }
    },
    { id, args }
  );
}

test.describe('rough edges', () => {
  test.setTimeout(240000);
  test.use({ kernels: null });

  test.beforeEach(async ({ page }) => {
    await newNotebook(page, 'rough.ipynb');
    await kernelExec(page, SETUP);
    await command(page, 'jupyterlab-spotlight:open');
  });

  test('a request the idle kernel leaves unanswered fails within seconds, and the next one works', async ({
    page
  }) => {
    const LIST = 'jupyterlab-spotlight:list-variables';
    expect((await attempt(page, LIST)).value.map((v: any) => v.name)).toEqual(
      expect.arrayContaining(['emb', 'loss'])
    );

    // The root cause: kernel code opening a comm with our target name used to
    // delete the subshell of the panel's comm, and every later request waited.
    await kernelExec(
      page,
      "from comm import create_comm\n_rogue = create_comm(target_name='jupyterlab-spotlight')"
    );
    for (let i = 0; i < 3; i++) {
      const listed = await attempt(page, LIST);
      expect(listed.error).toBeUndefined();
      expect(listed.value.map((v: any) => v.name)).toContain('emb');
    }
    const small = { embeddings: 'emb', losses: 'loss', count: 1, steps: 20 };
    expect((await attempt(page, 'jupyterlab-spotlight:run', small)).error).toBe(
      undefined
    );

    // The safeguard, 1: the kernel handles the request but never replies.
    await kernelExec(
      page,
      "for _c in list(get_ipython().kernel.comm_manager.comms.values()):\n    if _c.target_name == 'jupyterlab-spotlight':\n        _c.on_msg(lambda msg: None)"
    );
    const silent = await attempt(page, LIST);
    expect(silent.error).toMatch(
      /did not answer the Spotlight's 'list' request: handled the request without replying/
    );
    expect(silent.ms).toBeLessThan(10000);
    const again = await attempt(page, 'jupyterlab-spotlight:run', small);
    expect(again.error).toBeUndefined();
    expect(again.value.regions.length).toBe(1);

    // The safeguard, 2: the message never reaches the kernel (dropped), while
    // the kernel sits idle.
    await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      const panel = Array.from(app.shell.widgets('right') as any[]).find(
        (w: any) => w.id === 'jupyterlab-spotlight-panel'
      ) as any;
      panel.model.bridge._comm.send = () => undefined;
    });
    const lost = await attempt(page, LIST);
    expect(lost.error).toMatch(
      /did not answer the Spotlight's 'list' request: never started it in 5 s although idle/
    );
    expect(lost.ms).toBeLessThan(15000);
    await expect(
      page.locator('.jp-SpotlightPanel-progressText')
    ).not.toContainText('Waiting for the kernel');
    const after = await attempt(page, LIST);
    expect(after.error).toBeUndefined();
  });
  test('every command refuses unknown arguments, naming them; one notification per failure kind, updated', async ({
    page
  }) => {
    const ids = [
      'open',
      'list-variables',
      'run',
      'cancel',
      'inspect-region',
      'save-finding',
      'export-region',
      'open-findings'
    ];
    for (const id of ids) {
      const refused = await attempt(page, `jupyterlab-spotlight:${id}`, {
        bogus: 1
      });
      expect(refused.error).toMatch(
        new RegExp(
          `^jupyterlab-spotlight:${id} does not take the argument 'bogus'; it takes`
        )
      );
    }
    // A typo refuses the run before any work: no search, no result.
    for (let i = 0; i < 3; i++) {
      const typo = await attempt(page, 'jupyterlab-spotlight:run', {
        embeddings: 'emb',
        losses: 'loss',
        step: 5
      });
      expect(typo.error).toBe(
        "jupyterlab-spotlight:run does not take the argument 'step'; it takes: embeddings, losses, referenceLosses, labels, predictions, referencePredictions, examples, metadata, metadataColumns, spotlightSize, count, steps, learningRate, barrierScale, backend, direction, permutations, alpha, holdout, seed, components, workers. Nothing was done."
      );
    }
    await expect(page.locator('.jp-SpotlightPanel-results')).toBeHidden();
    // Three refusals of the same kind: one toast, not three.
    const toasts = page.locator('.Toastify__toast', {
      hasText: "does not take the argument 'step'"
    });
    await expect(toasts).toHaveCount(1);
    // A bad value is another kind of failure: its own single notification.
    for (let i = 0; i < 2; i++) {
      expect(
        (
          await attempt(page, 'jupyterlab-spotlight:run', {
            embeddings: 'emb',
            losses: 'loss',
            steps: -1
          })
        ).error
      ).toMatch(/steps must be a whole number ≥ 1/);
    }
    await expect(
      page.locator('.Toastify__toast', { hasText: 'steps must be' })
    ).toHaveCount(1);
    // The notebook toolbar's button (JupyterLab adds `toolbar: true`) works.
    await page.evaluate(() => (window as any).jupyterapp.shell.collapseRight());
    await page
      .locator(
        '.jp-NotebookPanel-toolbar [data-jp-item-name="spotlight"] button'
      )
      .click();
    await expect(page.locator('#jupyterlab-spotlight-panel')).toBeVisible();
    await expect(
      page.locator('.Toastify__toast', { hasText: "argument 'toolbar'" })
    ).toHaveCount(0);
  });
  test('progress and cancel texts stay true; previous results stay after a failed, cancelled or interrupted run', async ({
    page
  }) => {
    const first = await attempt(page, 'jupyterlab-spotlight:run', {
      embeddings: 'emb',
      losses: 'loss',
      count: 2,
      steps: 50,
      permutations: 0
    });
    expect(first.error).toBeUndefined();
    await expect(page.locator(RESULTS_TITLE)).toHaveText(
      /^2 regions · backend/
    );

    // A failed run: the error is shown, the previous regions stay.
    const failed = await attempt(page, 'jupyterlab-spotlight:run', {
      embeddings: 'emb',
      losses: 'no_such_loss'
    });
    expect(failed.error).toBeTruthy();
    await expect(page.locator('.jp-SpotlightPanel-error')).toBeVisible();
    await expect(page.locator(PROGRESS)).toHaveText(
      'The previous results (2 regions) are shown again.'
    );
    await expect(page.locator(RESULTS_TITLE)).toHaveText(
      /^2 regions · backend/
    );
    await expect(page.locator('.jp-SpotlightRegion')).toHaveCount(2);

    // Cancelled after its first region was shown: a sentence, and the
    // previous results with a true title (not "1 of 3 regions so far…").
    // Long enough that each spotlight takes seconds: the cancel lands while
    // spotlight 2 of 3 is searched.
    const long = {
      embeddings: 'big_emb',
      losses: 'big_loss',
      count: 3,
      steps: 5000,
      permutations: 0
    };
    await startRun(page, long);
    await expect(page.locator(RESULTS_TITLE)).toHaveText(
      '1 of 3 regions so far…',
      { timeout: 120000 }
    );
    // The summary names the running audit's own (scripted) options.
    await expect(page.locator('.jp-SpotlightPanel-setup summary')).toHaveText(
      /^Running: big_emb · big_loss · 3 spotlights × 5,000 steps · size 0\.02 · backend auto$/
    );
    await page.locator('.jp-SpotlightPanel-cancel').click();
    await expect(page.locator(PROGRESS)).toHaveText(
      'Cancelled. The previous results (2 regions) are shown again.'
    );
    await expect(page.locator(RESULTS_TITLE)).toHaveText(
      /^2 regions · backend/
    );
    await expect(page.locator('.jp-SpotlightRegion')).toHaveCount(2);

    // A kernel restart during the run: it says so; nothing says "so far".
    await startRun(page, long);
    await expect(page.locator(RESULTS_TITLE)).toHaveText(
      '1 of 3 regions so far…',
      { timeout: 120000 }
    );
    await page.evaluate(() =>
      (
        window as any
      ).jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()
    );
    await expect(page.locator('.jp-SpotlightPanel-error')).toContainText(
      'The kernel restarted'
    );
    expect(await page.evaluate(() => (window as any).__run)).toMatch(
      /kernel restarted/
    );
    await expect(page.locator(RESULTS_TITLE)).toHaveText(
      /^2 regions · backend/
    );
    await expect(page.locator(RESULTS_TITLE)).not.toContainText('so far');
    await expect(page.locator(PROGRESS)).not.toContainText('so far');
  });

  test('saved findings keep their numbers; a second save updates its cells and scrolls to them; "Saved findings" asks first', async ({
    page
  }) => {
    const run = await attempt(page, 'jupyterlab-spotlight:run', {
      embeddings: 'emb',
      losses: 'loss',
      count: 2,
      steps: 50
    });
    expect(run.error).toBeUndefined();
    const cellCount = () =>
      page.evaluate(
        () =>
          (window as any).jupyterapp.shell.currentWidget.content.model
            .sharedModel.cells.length
      );
    const before = await cellCount();
    const saved = await attempt(page, 'jupyterlab-spotlight:save-finding', {
      region: 1
    });
    expect(saved.value).toEqual([before, before + 1]);
    expect(await cellCount()).toBe(before + 2);
    // Saved again: the same two cells, updated; the user is told so.
    const again = await attempt(page, 'jupyterlab-spotlight:save-finding', {
      region: 1
    });
    expect(again.value).toEqual(saved.value);
    expect(await cellCount()).toBe(before + 2);
    await expect(
      page.locator('.Toastify__toast', { hasText: 'Updated 1 finding(s)' })
    ).toHaveCount(1);
    // The saved cells are the active cell, and on screen.
    const markdown = page.locator('.jp-Notebook .jp-Cell').nth(before);
    await expect(markdown).toHaveClass(/jp-mod-active/);
    await expect(markdown).toBeInViewport();

    // Region 1 of the audit on screen is not saved: "Saved findings" asks.
    await page.locator('.jp-SpotlightPanel-reopen').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Replace the results on screen?');
    await expect(dialog).toContainText('Region(s) 1 of the audit on screen');
    await dialog.getByRole('button', { name: 'Keep the results' }).click();
    await expect(page.locator('.jp-SpotlightRegion')).toHaveCount(2);
    await page.locator('.jp-SpotlightPanel-reopen').click();
    await dialog.getByRole('button', { name: 'Reopen saved findings' }).click();
    // Region 2, saved alone, reopens as region 2 (of 2), not "Region 1 of 1".
    await expect(page.locator('.jp-SpotlightRegion')).toHaveCount(1);
    await expect(page.locator('.jp-SpotlightRegion-name')).toHaveText(
      'Region 2'
    );
    await expect(
      page.locator('.jp-SpotlightPanel-detail h2').first()
    ).toHaveText('Region 2 of 2');
    // Everything on screen is saved now: reopening asks nothing.
    expect(
      (await attempt(page, 'jupyterlab-spotlight:open-findings')).value
    ).toBe(1);
    // And saving the reopened finding updates the same cells.
    await attempt(page, 'jupyterlab-spotlight:save-finding', { region: 0 });
    expect(await cellCount()).toBe(before + 2);
  });

  test('set-up: unusable embeddings listed with why, locale numbers, software-WebGL warning, summary of what ran, statistic tooltips, no "0 MB/s"', async ({
    page
  }) => {
    await attempt(page, 'jupyterlab-spotlight:list-variables');
    const picker = page.locator('#jp-Spotlight-pick-embeddings');
    for (const [name, why] of [
      ['one_d', 'one_d — not usable: 1-D (400); embeddings are N × D'],
      ['cube', 'cube — not usable: 3-D (400 × 8 × 8)'],
      ['words', 'words — not usable: holds <U1 values']
    ]) {
      const option = picker.locator(`option[value="${name}"]`);
      await expect(option).toContainText(why);
      await expect(option).toBeDisabled();
    }
    await expect(picker.locator('option[value="emb"]')).toBeEnabled();

    // Numbers as typed in a comma-decimal locale; ambiguous ones refused.
    const size = page.locator('#jp-Spotlight-opt-spotlightSize');
    await size.fill('0,05');
    await expect(
      page.locator('#jp-Spotlight-opt-spotlightSize-problem')
    ).toBeEmpty();
    await expect(page.locator('#jp-Spotlight-size-hint')).toHaveText(
      'S = 1,000 of N = 20,000 examples'
    );
    const steps = page.locator('#jp-Spotlight-opt-steps');
    await steps.fill('1,000');
    await expect(page.locator('#jp-Spotlight-opt-steps-problem')).toContainText(
      "'1,000' is ambiguous"
    );
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeDisabled();
    await steps.fill('40');
    await expect(page.locator('.jp-SpotlightPanel-run')).toBeEnabled();

    // WebGL on this machine is SwiftShader: a warning before the run.
    const hint = page.locator('#jp-Spotlight-backend-warning');
    await expect(hint).toBeHidden();
    await page.locator('#jp-Spotlight-opt-backend').selectOption('webgl');
    await expect(hint).toBeVisible();
    await expect(hint).toContainText('software renderer');
    await page.locator('#jp-Spotlight-opt-backend').selectOption('auto');
    await expect(hint).toBeHidden();

    // A scripted run with its own options: the summary shows what ran.
    const progress: string[] = [];
    await page.exposeFunction('__progress', (t: string) => progress.push(t));
    await page.evaluate(() => {
      const el = document.querySelector('.jp-SpotlightPanel-progressText')!;
      new MutationObserver(() =>
        (window as any).__progress(el.textContent ?? '')
      ).observe(el, { childList: true, characterData: true, subtree: true });
    });
    const run = await attempt(page, 'jupyterlab-spotlight:run', {
      embeddings: 'emb',
      losses: 'loss',
      referenceLosses: 'loss_a',
      holdout: true,
      count: 1,
      steps: 30,
      permutations: 0,
      backend: 'cpu'
    });
    expect(run.error).toBeUndefined();
    await expect(page.locator('.jp-SpotlightPanel-setup summary')).toHaveText(
      'Last run: emb · loss vs loss_a (B worse than A) · 1 spotlight × 30 steps · size 0.05 · holdout · backend cpu'
    );
    // The fields keep the panel's own options for the next run.
    await expect(steps).toHaveValue('40');
    // Small arrays: amounts in kB, never "0 MB/s".
    expect(progress.join('\n')).toMatch(/Fetching: embeddings 'emb' · .* kB/);
    expect(progress.join('\n')).not.toMatch(/ 0(\.0)? MB\/s/);

    // Every statistic on a card explains itself.
    const stats = page.locator('.jp-SpotlightRegion-stat');
    expect(await stats.count()).toBeGreaterThan(2);
    for (const title of await stats.evaluateAll(nodes =>
      nodes.map(n => (n as HTMLElement).title)
    )) {
      expect(title.length).toBeGreaterThan(30);
    }
    await expect(
      page.locator('.jp-SpotlightRegion-stat', { hasText: /^K / })
    ).toHaveAttribute('title', /total kernel weight/);
    await expect(
      page.locator('.jp-SpotlightRegion-stat', { hasText: /^support / })
    ).toHaveAttribute('title', /Support: how many examples/);
  });
});

/**
 * The rough edges of issue 15, item 5: each one checked on a real
 * JupyterLab, a real ipykernel and Debian's chromium.
 */
import { expect, test } from '@jupyterlab/galata';

import { command, kernelExec } from './helpers';

const SETUP = `
import numpy as np
rng = np.random.default_rng(0)
emb = rng.normal(size=(400, 8)).astype(np.float32)
loss = rng.random(400).astype(np.float32)
`;

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
    await page.notebook.createNew('rough.ipynb');
    await page.waitForFunction(() => {
      const kernel = (window as any).jupyterapp.shell.currentWidget
        ?.sessionContext?.session?.kernel;
      return kernel?.status === 'idle';
    });
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
        "jupyterlab-spotlight:run does not take the argument 'step'; it takes: embeddings, losses, referenceLosses, labels, predictions, referencePredictions, examples, metadata, spotlightSize, count, steps, learningRate, barrierScale, backend, direction, permutations, alpha, holdout, seed, components. Nothing was done."
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
});

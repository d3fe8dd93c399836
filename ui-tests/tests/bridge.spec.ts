import { expect, test } from '@jupyterlab/galata';

import { command, kernelExec, newNotebook } from './helpers';

const SETUP = `
import numpy as np, pandas as pd, torch, zlib
rng = np.random.default_rng(0)
emb_f64 = rng.normal(size=(500, 16))
emb_fortran = np.asfortranarray(rng.normal(size=(500, 16)).astype(np.float32))
emb_view = rng.normal(size=(500, 32)).astype(np.float32)[:, ::2]
emb_lists = rng.random((500, 4)).tolist()
loss_f16 = rng.random(500).astype(np.float16)
loss_list = list(rng.random(500))
loss_series = pd.Series(rng.random(500))
labels_i64 = rng.integers(0, 10, 500)
labels_str = np.array(['cat', 'dog'])[rng.integers(0, 2, 500)]
frame = pd.DataFrame({'a': rng.random(500), 'b': rng.integers(0, 3, 500)})
t_bf16 = torch.randn(500, 16, dtype=torch.bfloat16)
t_f16 = torch.randn(500, 16, dtype=torch.float16)
t_grad = torch.rand(500, requires_grad=True)
def crc(x, l):
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32)); l = np.ascontiguousarray(np.asarray(l, dtype=np.float32)).reshape(-1)
    return format(zlib.crc32(l.tobytes(), zlib.crc32(x.tobytes())), '08x')
`;

/** Python that prints the files in the kernel's transfer folder, one per line. */
const TRANSFER_FILES =
  "import os, tempfile\n_d = os.path.join(tempfile.gettempdir(), 'jupyterlab-spotlight-%d' % os.getuid())\nprint('\\n'.join(sorted(os.listdir(_d)) if os.path.isdir(_d) else []))";

/**
 * The transfer files that appeared since `before` (the folder is shared by
 * every kernel of the user, so the tests compare snapshots).
 */
async function newTransferFiles(
  page: any,
  before: string[]
): Promise<string[]> {
  const now = (await kernelExec(page, TRANSFER_FILES)).split('\n');
  return now.filter(name => name && !before.includes(name));
}

/** The fetched pairs of the bit-exactness tests (embeddings, losses). */
const PAIRS: [string, string][] = [
  ['emb_f64', 'loss_f16'],
  ['emb_fortran', 'loss_list'],
  ['emb_view', 'loss_series'],
  ['t_bf16', 't_grad'],
  ['emb_lists', 'loss_f16'],
  ['t_f16', 't_grad']
];

/** Audit each pair; check the fingerprint against the kernel's and return the transports. */
async function auditPairs(page: any): Promise<string[]> {
  const transports: string[] = [];
  for (const [embeddings, losses] of PAIRS) {
    const { summary, error } = await audit(page, {
      embeddings,
      losses,
      steps: 5,
      count: 1
    });
    expect(error).toBeUndefined();
    const expected = (
      await kernelExec(
        page,
        `print(crc(${embeddings}.float().detach().numpy() if hasattr(${embeddings}, 'detach') else ${embeddings}, ` +
          `${losses}.detach().float().numpy() if hasattr(${losses}, 'detach') else ${losses}))`
      )
    ).trim();
    expect(`${embeddings}/${losses}: ${summary.fingerprint}`).toBe(
      `${embeddings}/${losses}: ${expected}`
    );
    transports.push(
      `${summary.transports.embeddings}/${summary.transports.losses}`
    );
  }
  return transports;
}

/** Record every text of the panel's progress line until `stop()` is called. */
async function recordProgress(page: any): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const el = document.querySelector('.jp-SpotlightPanel-progressText')!;
    const seen: string[] = [];
    (window as any).__progressSeen = seen;
    (window as any).__progressObserver = new MutationObserver(() =>
      seen.push(el.textContent ?? '')
    );
    (window as any).__progressObserver.observe(el, {
      childList: true,
      characterData: true,
      subtree: true
    });
  });
  return () =>
    page.evaluate(() => {
      (window as any).__progressObserver.disconnect();
      return (window as any).__progressSeen as string[];
    });
}

/** Run an audit through the command; resolve to the summary or the error message. */
async function audit(
  page: any,
  args: Record<string, unknown>
): Promise<{ summary?: any; error?: string }> {
  return page.evaluate(async (a: Record<string, unknown>) => {
    try {
      const app = (window as any).jupyterapp;
      return {
        summary: await app.commands.execute('jupyterlab-spotlight:run', a)
      };
    } catch (reason) {
      return { error: String((reason as Error).message ?? reason) };
    }
  }, args);
}

test.describe('kernel bridge', () => {
  test.setTimeout(300000);
  test.use({ kernels: null });

  test.beforeEach(async ({ page }) => {
    await newNotebook(page, 'bridge.ipynb');
    await kernelExec(page, SETUP);
    await command(page, 'jupyterlab-spotlight:open');
  });

  test('lists numpy, torch, pandas and list variables with their roles', async ({
    page
  }) => {
    const variables = await command<any[]>(
      page,
      'jupyterlab-spotlight:list-variables'
    );
    const byName = Object.fromEntries(variables.map(v => [v.name, v]));
    expect(byName.emb_f64.roles).toContain('embeddings');
    expect(byName.emb_f64.shape).toEqual([500, 16]);
    expect(byName.emb_fortran.roles).toContain('embeddings');
    expect(byName.t_bf16.roles).toContain('embeddings');
    expect(byName.t_bf16.type).toBe('torch.Tensor');
    expect(byName.loss_f16.roles).toContain('losses');
    expect(byName.t_grad.roles).toContain('losses');
    expect(byName.loss_series.roles).toContain('losses');
    expect(byName.loss_list.roles).toContain('losses');
    expect(byName.labels_str.roles).toContain('labels');
    expect(byName.labels_i64.roles).toContain('labels');
    expect(byName.frame.roles).toEqual(
      expect.arrayContaining(['examples', 'metadata'])
    );
    expect(byName.np).toBeUndefined();
    expect(byName.crc).toBeUndefined();
    expect(Object.keys(byName).some(n => n.startsWith('_'))).toBe(false);
  });

  test('fetches every array type intact through the file transport (checked against the kernel)', async ({
    page
  }) => {
    const before = (await kernelExec(page, TRANSFER_FILES)).split('\n');
    const stop = await recordProgress(page);
    expect(await auditPairs(page)).toEqual(PAIRS.map(() => 'file/file'));
    expect((await stop()).join('\n')).toMatch(
      /Fetching: embeddings 'emb_f64' · .* kB · via file/
    );
    // The server deleted every file it served.
    expect(await newTransferFiles(page, before)).toEqual([]);
  });

  test('falls back to the comm, intact, when the server does not serve the file', async ({
    page
  }) => {
    // What a remote kernel or a disabled server extension looks like: 404.
    let refused = 0;
    await page.route('**/jupyterlab-spotlight/transfer/**', route => {
      refused++;
      return route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: '{"message": "Not Found"}'
      });
    });
    const warnings: string[] = [];
    page.on('console', message => {
      if (message.type() === 'warning') {
        warnings.push(message.text());
      }
    });
    const before = (await kernelExec(page, TRANSFER_FILES)).split('\n');
    const stop = await recordProgress(page);
    expect(await auditPairs(page)).toEqual(PAIRS.map(() => 'comm/comm'));
    expect(refused).toBe(2 * PAIRS.length);
    expect((await stop()).join('\n')).toMatch(
      /Fetching: embeddings 'emb_f64' · .* kB · via comm/
    );
    expect(warnings.join('\n')).toMatch(
      /comm \(slower\) because the Jupyter server cannot see the kernel's transfer file/
    );
    // fetch-end deleted the files the server never served.
    expect(await newTransferFiles(page, before)).toEqual([]);
  });

  test('cancels a file transfer in the middle and leaves no file behind', async ({
    page
  }) => {
    await kernelExec(
      page,
      'huge = np.ones((1_000_000, 128), np.float32)\nhuge_loss = np.ones(1_000_000, np.float32)'
    );
    const before = (await kernelExec(page, TRANSFER_FILES)).split('\n');
    // Cancel from the page at the first progress of the file download (8 MiB of 512 MB).
    const outcome = await page.evaluate(async () => {
      const app = (window as any).jupyterapp;
      const el = document.querySelector('.jp-SpotlightPanel-progressText')!;
      let cancelledAt = '';
      const observer = new MutationObserver(() => {
        const text = el.textContent ?? '';
        if (!cancelledAt && /embeddings 'huge' · [1-9].*via file/.test(text)) {
          cancelledAt = text;
          void app.commands.execute('jupyterlab-spotlight:cancel');
        }
      });
      observer.observe(el, {
        childList: true,
        characterData: true,
        subtree: true
      });
      try {
        await app.commands.execute('jupyterlab-spotlight:run', {
          embeddings: 'huge',
          losses: 'huge_loss',
          steps: 1,
          count: 1
        });
        return { cancelledAt, result: 'finished' };
      } catch (reason) {
        return { cancelledAt, result: String((reason as Error).message) };
      } finally {
        observer.disconnect();
      }
    });
    expect(outcome.cancelledAt).toMatch(/of 516\.0 MB/);
    expect(outcome.result).toMatch(/cancelled/);
    await expect(page.locator('.jp-SpotlightPanel-progressText')).toHaveText(
      /^Cancelled\. /
    );
    // The kernel freed the transfer: no file is left, whoever deleted it.
    await expect.poll(async () => newTransferFiles(page, before)).toEqual([]);
    // And the next fetch works.
    const { summary, error } = await audit(page, {
      embeddings: 'emb_f64',
      losses: 'loss_f16',
      steps: 5,
      count: 1
    });
    expect(error).toBeUndefined();
    expect(summary.transports).toEqual({ embeddings: 'file', losses: 'file' });
  });

  test('moves 50,000 × 256 float32 intact and fast', async ({ page }) => {
    await kernelExec(
      page,
      'big = rng.standard_normal((50000, 256), dtype=np.float32)\nbig_loss = rng.random(50000, dtype=np.float32)'
    );
    const { summary, error } = await audit(page, {
      embeddings: 'big',
      losses: 'big_loss',
      steps: 1,
      count: 1
    });
    expect(error).toBeUndefined();
    expect(summary.transports).toEqual({ embeddings: 'file', losses: 'file' });
    expect((await kernelExec(page, 'print(crc(big, big_loss))')).trim()).toBe(
      summary.fingerprint
    );
    const megabytes = (50000 * 257 * 4) / 1e6;
    console.log(
      `transfer: ${megabytes.toFixed(1)} MB in ${summary.timings.fetchMs.toFixed(0)} ms = ${(megabytes / (summary.timings.fetchMs / 1000)).toFixed(0)} MB/s`
    );
  });

  test('refuses bad input with messages that name the variables', async ({
    page
  }) => {
    await kernelExec(
      page,
      [
        'loss_short = np.ones(499, np.float32)',
        'loss_nan = np.ones(500, np.float32); loss_nan[[3, 7]] = np.nan',
        'loss_neg = -np.ones(500, np.float32)',
        'emb_1d = np.ones(500)',
        'emb_empty = np.ones((0, 3))',
        'emb_str = np.array([["a", "b"]] * 500)'
      ].join('\n')
    );
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { embeddings: 'emb_f64', losses: 'loss_short' },
        /emb_f64.*500.*loss_short.*499|loss_short.*499.*emb_f64/
      ],
      [
        { embeddings: 'emb_f64', losses: 'loss_nan' },
        /loss_nan.*(NaN|non-finite)/i
      ],
      [{ embeddings: 'emb_f64', losses: 'loss_neg' }, /loss_neg.*negative/i],
      [{ embeddings: 'emb_1d', losses: 'loss_f16' }, /emb_1d.*2-D/],
      [{ embeddings: 'emb_empty', losses: 'loss_f16' }, /emb_empty.*empty/i],
      [{ embeddings: 'emb_str', losses: 'loss_f16' }, /emb_str.*numeric/i],
      [{ embeddings: 'nope', losses: 'loss_f16' }, /nope/],
      [
        {
          embeddings: "x); import os; os.system('touch /tmp/pwned'); (x",
          losses: 'loss_f16'
        },
        /not a variable name/
      ],
      // Refused by the command before any work (a notification only)…
      [{ embeddings: 'emb_f64', losses: 'loss_f16', count: 0 }, /count/i],
      [{ embeddings: 'emb_f64', losses: 'loss_f16', steps: 0 }, /steps/i],
      // …and by the panel's model, which shows it in the panel too.
      [
        { embeddings: 'emb_f64', losses: 'loss_f16', spotlightSize: 1.5 },
        /spotlight ?size|fraction/i
      ]
    ];
    for (const [args, pattern] of cases) {
      const { error } = await audit(page, { steps: 5, count: 1, ...args });
      expect(`${JSON.stringify(args)} → ${error}`).toMatch(pattern);
    }
    expect(
      (
        await kernelExec(page, "import os; print(os.path.exists('/tmp/pwned'))")
      ).trim()
    ).toBe('False');
    await expect(page.locator('.jp-SpotlightPanel-error')).toBeVisible();
  });

  test('recovers from a kernel restart in the middle of a fetch', async ({
    page
  }) => {
    await kernelExec(
      page,
      'huge = np.ones((1_000_000, 128), np.float32)\nhuge_loss = np.ones(1_000_000, np.float32)'
    );
    await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      (window as any).__run = app.commands
        .execute('jupyterlab-spotlight:run', {
          embeddings: 'huge',
          losses: 'huge_loss',
          steps: 1,
          count: 1
        })
        .then(
          () => 'finished',
          (reason: Error) => reason.message
        );
    });
    await expect(page.locator('.jp-SpotlightPanel-progressText')).toContainText(
      /Fetching: embeddings 'huge' · [1-9]/,
      {
        timeout: 60000
      }
    );
    // Restart at once (the menu and its dialog take long enough for a fast
    // machine to finish the transfer first).
    await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      void app.shell.currentWidget.sessionContext.session.kernel.restart();
    });
    const outcome = await page.evaluate(() => (window as any).__run);
    expect(outcome).toMatch(/restart/i);
    await page.waitForFunction(() => {
      const kernel = (window as any).jupyterapp.shell.currentWidget
        .sessionContext.session?.kernel;
      return kernel?.status === 'idle';
    });
    // The helper is injected again and the panel works on the new kernel.
    await kernelExec(page, SETUP);
    const { summary, error } = await audit(page, {
      embeddings: 'emb_f64',
      losses: 'loss_f16',
      steps: 5,
      count: 1
    });
    expect(error).toBeUndefined();
    expect(summary.regions).toHaveLength(1);
  });
});

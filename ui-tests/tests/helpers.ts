import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import * as path from 'path';

/** The demo notebook, as shipped in examples/. */
export const DEMO = path.resolve(
  __dirname,
  '../../examples/digits_audit.ipynb'
);

/** Where screenshots for the README go. */
export const DOCS = path.resolve(__dirname, '../../docs');

/**
 * Create a notebook and wait until its kernel is idle.
 */
export async function newNotebook(
  page: IJupyterLabPageFixture,
  name: string
): Promise<void> {
  await page.notebook.createNew(name);
  await page.waitForFunction(() => {
    const kernel = (window as any).jupyterapp.shell.currentWidget
      ?.sessionContext?.session?.kernel;
    return kernel?.status === 'idle';
  });
}

/**
 * Execute code in the notebook's kernel (not in a cell) and return what it
 * printed: the current widget's when it is a notebook, else the first
 * notebook in the main area (the audit view may be current). Fails the test
 * if the code raised.
 */
export async function kernelExec(
  page: IJupyterLabPageFixture,
  code: string
): Promise<string> {
  return page.evaluate(async source => {
    const app = (window as any).jupyterapp;
    const current = app.shell.currentWidget;
    const widget = current?.sessionContext
      ? current
      : (Array.from(app.shell.widgets('main') as any).find(
          (w: any) => w.sessionContext && w.context?.path?.endsWith('.ipynb')
        ) as any);
    const kernel = widget.sessionContext.session.kernel;
    const future = kernel.requestExecute({
      code: source,
      store_history: false
    });
    let out = '';
    let error = '';
    future.onIOPub = (msg: any) => {
      if (msg.header.msg_type === 'stream') {
        out += msg.content.text;
      } else if (msg.header.msg_type === 'error') {
        error = `${msg.content.ename}: ${msg.content.evalue}`;
      }
    };
    await future.done;
    if (error) {
      throw new Error(error);
    }
    return out;
  }, code);
}

/** Run a Spotlight command in the page and return its result. */
export async function command<T = unknown>(
  page: IJupyterLabPageFixture,
  id: string,
  args: Record<string, unknown> = {}
): Promise<T> {
  return page.evaluate(
    async ({ id, args }) => {
      const app = (window as any).jupyterapp;
      return app.commands.execute(id, args);
    },
    { id, args }
  );
}

/** Open the demo notebook from a fresh copy in the test's folder and run it. */
export async function openDemo(
  page: IJupyterLabPageFixture,
  tmpPath: string
): Promise<string> {
  const target = `${tmpPath}/digits_audit.ipynb`;
  await page.contents.uploadFile(DEMO, target);
  await page.notebook.openByPath(target);
  await page.notebook.activate('digits_audit.ipynb');
  return target;
}

/** The `run` arguments of a short audit of the demo (2 regions, no permutation test). */
export const DEMO_RUN = {
  embeddings: 'embeddings',
  losses: 'losses',
  labels: 'labels',
  predictions: 'predictions',
  examples: 'images',
  count: 2,
  steps: 2000,
  permutations: 0
};

/**
 * Open the demo, run its cells, open the panel and run the demo's audit
 * (`DEMO_RUN`); return the run command's summary.
 */
export async function auditDemo(
  page: IJupyterLabPageFixture,
  tmpPath: string
): Promise<any> {
  await openDemo(page, tmpPath);
  await page.notebook.run();
  await command(page, 'jupyterlab-spotlight:open');
  return command<any>(page, 'jupyterlab-spotlight:run', DEMO_RUN);
}

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
 * Execute code in the current notebook's kernel (not in a cell) and return
 * what it printed. Fails the test if the code raised.
 */
export async function kernelExec(
  page: IJupyterLabPageFixture,
  code: string
): Promise<string> {
  return page.evaluate(async source => {
    const app = (window as any).jupyterapp;
    const widget = app.shell.currentWidget;
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

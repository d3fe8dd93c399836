/**
 * Does the installed extension activate? Opens a running JupyterLab or
 * Notebook 7 page in Debian's chromium (Playwright from ui-tests/node_modules)
 * and checks that:
 *   - the page's federated extensions include jupyterlab-spotlight;
 *   - its command `jupyterlab-spotlight:open` exists (registered in activate)
 *     and opens the panel (`#jupyterlab-spotlight-panel` becomes visible);
 *   - the console has no "Unsatisfied version" warning for a package that
 *     the extension shares (the names given in SPOTLIGHT_SHARED).
 *
 * Usage: node activation.mjs URL   (the app must be exposed in the browser:
 * `--LabApp.expose_app_in_browser=True`). Prints a JSON report; exit code 0
 * when every check passes, 1 otherwise.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(
  path.join(here, '..', '..', 'ui-tests', 'package.json')
);
const { chromium } = require('@playwright/test');

const url = process.argv[2];
const shared = (process.env.SPOTLIGHT_SHARED ?? '').split(',').filter(Boolean);
const report = { url, checks: {}, unsatisfied: [], otherUnsatisfied: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run'
  ]
});
let failed = false;
try {
  const page = await browser.newPage();
  page.on('console', message => {
    const text = message.text();
    if (/Unsatisfied version/i.test(text)) {
      const ours = shared.some(name => text.includes(`module ${name} `));
      (ours ? report.unsatisfied : report.otherUnsatisfied).push(text);
    }
  });
  await page.goto(url);
  await page.waitForFunction(() => window.jupyterapp?.commands, null, {
    timeout: 60000
  });
  await page.evaluate(() => window.jupyterapp.restored);
  report.version = await page.evaluate(() => window.jupyterapp.version);
  report.checks.federated = await page.evaluate(() =>
    JSON.parse(
      document.getElementById('jupyter-config-data')?.textContent ?? '{}'
    ).federated_extensions?.some(e => e.name === 'jupyterlab-spotlight')
  );
  report.checks.command = await page.evaluate(() =>
    window.jupyterapp.commands.hasCommand('jupyterlab-spotlight:open')
  );
  if (report.checks.command) {
    await page.evaluate(() =>
      window.jupyterapp.commands.execute('jupyterlab-spotlight:open')
    );
    report.checks.panel = await page
      .locator('#jupyterlab-spotlight-panel')
      .waitFor({ state: 'visible', timeout: 15000 })
      .then(
        () => true,
        () => false
      );
  } else {
    report.checks.panel = false;
  }
  // Late shared-module loads log after activation: give them a moment.
  await page.waitForTimeout(1000);
  report.checks.noUnsatisfiedVersion = report.unsatisfied.length === 0;
  failed = Object.values(report.checks).some(ok => ok !== true);
} catch (error) {
  report.error = String(error?.stack ?? error);
  failed = true;
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
process.exitCode = failed ? 1 : 0;

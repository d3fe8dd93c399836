/**
 * Galata configuration: a real JupyterLab server with a real ipykernel,
 * driven in Debian's chromium (never a downloaded browser).
 */
const launchOptions = require('./chromium');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.SPOTLIGHT_UI_PORT || '8888';

module.exports = {
  ...baseConfig,
  // JupyterLab tests only: notebook/ holds the Notebook 7 test, run by
  // playwright-notebook.config.js against a `jupyter notebook` server.
  testDir: './tests',
  timeout: 120000,
  expect: { timeout: 30000 },
  retries: 0,
  workers: 1,
  forbidOnly: true,
  reporter: [
    ['list'],
    ['junit', { outputFile: 'test-results/junit.xml' }],
    ['html', { open: 'never' }]
  ],
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    trace: 'retain-on-failure',
    video: 'off',
    launchOptions
  },
  webServer: {
    command: 'jlpm start',
    url: `http://localhost:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: false
  }
};

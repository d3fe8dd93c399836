/**
 * Playwright configuration for the Notebook 7 test: a real `jupyter notebook`
 * server (Notebook >= 7) with a real ipykernel, in Debian's chromium. Plain
 * Playwright (galata's fixtures drive JupyterLab's shell); tests in notebook/.
 */
const launchOptions = require('./chromium');
const port = process.env.SPOTLIGHT_NB_PORT || '8889';

module.exports = {
  testDir: './notebook',
  timeout: 300000,
  expect: { timeout: 30000 },
  retries: 0,
  workers: 1,
  forbidOnly: true,
  reporter: [
    ['list'],
    ['junit', { outputFile: 'test-results-notebook/junit.xml' }]
  ],
  outputDir: 'test-results-notebook/artifacts',
  use: {
    baseURL: `http://localhost:${port}`,
    viewport: { width: 1400, height: 900 },
    trace: 'retain-on-failure',
    video: 'off',
    launchOptions
  },
  webServer: {
    command: 'jupyter notebook --config jupyter_notebook_test_config.py',
    url: `http://localhost:${port}/tree`,
    timeout: 120 * 1000,
    reuseExistingServer: false
  }
};

/**
 * How every Playwright run here launches Debian's chromium (never a
 * downloaded browser): shared by the JupyterLab and the Notebook 7 configs.
 */
module.exports = {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync'
  ]
};

/**
 * The engine benchmark in headless Chromium:
 *   node browser_engine.mjs plan.json out.json
 * Serves build/ (index.html and the engine bundle, which embeds our WASM
 * kernel, so there is no .wasm asset) and the data files on 127.0.0.1, opens
 * the page in Debian's chromium, runs each case of the plan through
 * `window.spotlightBench.run` and each direct kernel timing of `plan.kernels`
 * through `window.spotlightBench.kernel`.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';

import { describe, HERE, launchChromium } from './common.mjs';

const [planPath, outPath] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
const BUILD = path.join(HERE, 'build');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.f32': 'application/octet-stream'
};

// Only the plan's data files and build/ are served.
const dataFiles = new Map();
for (const c of [...plan.cases, ...(plan.kernels ?? [])]) {
  for (const file of [c.x, c.loss]) {
    dataFiles.set(`/data/${path.basename(file)}`, file);
  }
}
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204).end();
    return;
  }
  let file = dataFiles.get(url.pathname);
  if (!file) {
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    if (name.includes('/') || name.includes('..')) {
      res.writeHead(404).end();
      return;
    }
    file = path.join(BUILD, name);
  }
  fs.stat(file, (error, stat) => {
    if (error || !stat.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': stat.size,
      'Cache-Control': 'no-store'
    });
    fs.createReadStream(file).pipe(res);
  });
});
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await launchChromium();
const results = [];
const kernels = [];
const log = [];
let env = null;
try {
  const page = await browser.newPage();
  page.on('console', msg => {
    if (msg.type() === 'error' || msg.type() === 'warning') {
      log.push(`${msg.type()}: ${msg.text()}`.slice(0, 300));
    }
  });
  page.on('pageerror', error => log.push(`pageerror: ${describe(error)}`));
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => window.spotlightBenchReady === true);
  env = await page.evaluate(() => window.spotlightBench.environment());
  env.userAgent = await page.evaluate(() => navigator.userAgent);
  env.browserVersion = browser.version();
  if (plan.crcMegabytes) {
    env.crcMBps = await page.evaluate(
      mb => window.spotlightBench.crc(mb),
      plan.crcMegabytes
    );
  }
  const runCases = async cases => {
    for (const c of cases) {
      const spec = {
        ...c,
        x: `${base}/data/${path.basename(c.x)}`,
        loss: `${base}/data/${path.basename(c.loss)}`
      };
      let record;
      try {
        record = await page.evaluate(s => window.spotlightBench.run(s), spec);
      } catch (error) {
        record = { ok: false, error: describe(error) };
      }
      results.push({
        platform: 'chromium',
        n: c.n,
        d: c.d,
        requested: c.backend,
        ...(c.variant ? { variant: c.variant } : {}),
        ...(c.pruning === undefined ? {} : { pruningRequested: c.pruning }),
        ...record
      });
      process.stderr.write(
        `  chromium ${c.backend} ${c.n}x${c.d}: ${record.ok ? `${record.steps} steps, ${Number(record.meanStepMs).toFixed(2)} ms/step (${record.backend})` : record.error}\n`
      );
      fs.writeFileSync(
        outPath,
        JSON.stringify({ env, results, kernels, log }, null, 1)
      );
    }
  };
  // WebGL last, after the direct kernel timings: SwiftShader's threads must
  // not overlap the other measurements.
  await runCases(plan.cases.filter(c => c.backend !== 'webgl'));
  for (const k of plan.kernels ?? []) {
    const spec = {
      ...k,
      x: `${base}/data/${path.basename(k.x)}`,
      loss: `${base}/data/${path.basename(k.loss)}`
    };
    let record;
    try {
      record = await page.evaluate(s => window.spotlightBench.kernel(s), spec);
    } catch (error) {
      record = {
        ok: false,
        kernel: k.kernel,
        n: k.n,
        d: k.d,
        error: describe(error)
      };
    }
    kernels.push({ platform: 'chromium', ...record });
    process.stderr.write(
      `  chromium ${record.kernel ?? k.kernel} ${k.n}x${k.d}: ${record.ok ? `${Number(record.meanMs).toFixed(2)} ms/moments(), ${record.calls} calls` : record.error}\n`
    );
    fs.writeFileSync(
      outPath,
      JSON.stringify({ env, results, kernels, log }, null, 1)
    );
  }
  await runCases(plan.cases.filter(c => c.backend === 'webgl'));
} finally {
  await browser.close();
  server.close();
}
fs.writeFileSync(
  outPath,
  JSON.stringify({ env, results, kernels, log }, null, 1)
);

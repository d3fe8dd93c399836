/**
 * The end-to-end benchmarks through the real extension in JupyterLab:
 *   node lab.mjs config.json out.json
 * config.json: { base, notebook, benchDir, demoCells: [source…], plan }.
 * run.py starts the server (jupyter_bench_config.py) and stops it.
 *
 * (e) run-to-first-region on the demo (click on Run → first region in the
 *     DOM) and the `run` command's timings; 200,000 × 128 extrapolated from
 *     two short runs;
 * (d) kernel → browser transfer: `run` with steps 1, count 1 on the cpu
 *     backend, MB/s = bytes / fetchMs;
 * (f) peak memory of a 1,000,000 × 128 audit in a fresh page: the renderer's
 *     peak RSS (VmHWM) and sampled RSS, and the JS heap via CDP;
 * (l) main-thread responsiveness during an audit through the panel: the
 *     longest 'longtask' (PerformanceObserver) from the click on Find
 *     spotlights to the last region, and how long a click on the file
 *     browser's tab takes to answer (click event → next frame), before and
 *     during the search; then a 1,000,000 × 768 float32 audit from the kernel
 *     in a fresh page (time per step, total, peak memory of the renderer
 *     process — the page and its Web Workers are threads of it — and the
 *     page's JS heap).
 */
import * as fs from 'fs';

import {
  chromiumMemory,
  describe,
  launchChromium,
  processMemory
} from './common.mjs';

const [configPath, outPath] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const plan = config.plan;
const out = { started: new Date().toISOString(), log: [] };
const save = () => fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
const note = text => {
  out.log.push(text);
  process.stderr.write(`  lab: ${text}\n`);
};

/** Open JupyterLab and the notebook; resolves when its kernel is idle. */
async function openNotebook(page) {
  await page.goto(`${config.base}/lab`);
  await page.waitForFunction(() => !!window.jupyterapp, null, {
    timeout: 120000
  });
  await page.waitForSelector('#jupyterlab-splash', {
    state: 'detached',
    timeout: 120000
  });
  await page.evaluate(async path => {
    const app = window.jupyterapp;
    await app.restored;
    const widget = await app.commands.execute('docmanager:open', {
      path,
      factory: 'Notebook'
    });
    await widget.context.ready;
    await widget.sessionContext.ready;
    app.shell.activateById(widget.id);
    window.__benchNotebook = widget;
    for (let i = 0; i < 600; i++) {
      const kernel = widget.sessionContext.session?.kernel;
      if (kernel && kernel.status === 'idle') {
        return;
      }
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error('the kernel did not become idle');
  }, config.notebook);
}

/** Execute code in the notebook's kernel; returns its stdout. */
async function kernelExec(page, code) {
  return page.evaluate(async source => {
    const widget = window.__benchNotebook;
    const kernel = widget.sessionContext.session.kernel;
    const future = kernel.requestExecute({
      code: source,
      store_history: false
    });
    let text = '';
    let error = '';
    future.onIOPub = msg => {
      if (msg.header.msg_type === 'stream') {
        text += msg.content.text;
      } else if (msg.header.msg_type === 'error') {
        error = `${msg.content.ename}: ${msg.content.evalue}`;
      }
    };
    await future.done;
    if (error) {
      throw new Error(error);
    }
    return text;
  }, code);
}

/** Run a command of the app. */
async function command(page, id, args = {}) {
  return page.evaluate(
    ({ id, args }) => window.jupyterapp.commands.execute(id, args),
    { id, args }
  );
}

/** `run` with arguments; returns the summary without topIndices. */
async function audit(page, args) {
  const wall0 = Date.now();
  const summary = await command(page, 'jupyterlab-spotlight:run', args);
  const wallMs = Date.now() - wall0;
  return {
    wallMs,
    backend: summary.backend,
    backendReason: summary.backendReason,
    n: summary.n,
    d: summary.d,
    timings: summary.timings,
    transports: summary.transports ?? null,
    regions: summary.regions.map(r => ({
      totalWeight: r.totalWeight,
      weightedLoss: r.weightedLoss,
      supportSize: r.supportSize
    }))
  };
}

async function openPanel(page) {
  await command(page, 'jupyterlab-spotlight:open');
  await page.locator('.jp-SpotlightPanel-run').waitFor({ timeout: 60000 });
}

/**
 * Click Run and time, in the page, the click event → the first
 * `.jp-SpotlightRegion` in the DOM (and the next frame) → the audit done.
 * Regions may appear before the audit ends (the panel shows each spotlight as
 * it is found). With `cancelAfterFirst`, the audit is cancelled once the first
 * region is shown.
 */
async function clickRun(page, { timeoutMs, cancelAfterFirst = false }) {
  await page.evaluate(() => {
    window.__clickAt = null;
    window.__regionAt = null;
    window.__regionPaintedAt = null;
    window.__doneAt = null;
    const button = document.querySelector('.jp-SpotlightPanel-run');
    button.addEventListener(
      'click',
      () => {
        window.__clickAt = performance.now();
      },
      { capture: true, once: true }
    );
    const status = document.querySelector('.jp-SpotlightPanel-status');
    const observer = new MutationObserver(() => {
      if (!window.__regionAt && document.querySelector('.jp-SpotlightRegion')) {
        window.__regionAt = performance.now();
        requestAnimationFrame(() =>
          setTimeout(() => {
            window.__regionPaintedAt = performance.now();
          }, 0)
        );
      }
      const stage = status?.dataset.stage;
      if (
        window.__clickAt !== null &&
        !window.__doneAt &&
        (stage === 'done' || stage === 'error')
      ) {
        window.__doneAt = performance.now();
        window.__doneStage = stage;
        observer.disconnect();
      }
    });
    observer.observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ['data-stage']
    });
  });
  await page.locator('.jp-SpotlightPanel-run').click();
  await page
    .locator('.jp-SpotlightRegion')
    .first()
    .waitFor({ timeout: timeoutMs });
  await page.waitForFunction(() => window.__regionPaintedAt !== null);
  let cancelled = false;
  if (cancelAfterFirst) {
    const running = await page.evaluate(() => window.__doneAt === null);
    if (running) {
      await command(page, 'jupyterlab-spotlight:cancel');
      cancelled = true;
    }
    await page.waitForFunction(
      () =>
        !document.querySelector('.jp-SpotlightPanel-run').disabled ||
        window.__doneAt !== null,
      null,
      { timeout: 60000 }
    );
  } else {
    await page.waitForFunction(() => window.__doneAt !== null, null, {
      timeout: timeoutMs
    });
  }
  const t = await page.evaluate(() => ({
    click: window.__clickAt,
    region: window.__regionAt,
    painted: window.__regionPaintedAt,
    done: window.__doneAt,
    stage: window.__doneStage ?? null,
    regions: document.querySelectorAll('.jp-SpotlightRegion').length,
    status: document.querySelector('.jp-SpotlightPanel-progressText')
      ?.textContent
  }));
  return {
    clickToRegionMs: t.region - t.click,
    clickToPaintMs: t.painted - t.click,
    clickToDoneMs: t.done === null ? null : t.done - t.click,
    doneStage: t.stage,
    cancelled,
    regions: t.regions,
    status: t.status
  };
}

/** Choose variables in the panel's pickers (as a user would). */
async function pickVariables(page, want) {
  const got = await page.evaluate(want => {
    const got = {};
    for (const [role, value] of Object.entries(want)) {
      const select = document.querySelector(`#jp-Spotlight-pick-${role}`);
      if (!select) {
        got[role] = 'no picker';
        continue;
      }
      select.value = value;
      select.dispatchEvent(new Event('change'));
      got[role] = select.value;
    }
    return got;
  }, want);
  await page.waitForFunction(
    () => !document.querySelector('.jp-SpotlightPanel-run').disabled,
    null,
    { timeout: 30000 }
  );
  return got;
}

/**
 * Click the file browser's tab in the left side bar `times` times and
 * measure, in the page, each click event → the next frame (ms).
 */
async function clickLatencies(page, times) {
  const out = [];
  const tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab').first();
  for (let i = 0; i < times; i++) {
    await page.evaluate(() => {
      window.__clickFrame = null;
      document.addEventListener(
        'click',
        e => {
          const at = e.timeStamp;
          requestAnimationFrame(() =>
            setTimeout(() => {
              window.__clickFrame = performance.now() - at;
            }, 0)
          );
        },
        { capture: true, once: true }
      );
    });
    await tab.click({ timeout: 60000 });
    await page.waitForFunction(() => window.__clickFrame !== null, null, {
      timeout: 60000
    });
    out.push(Math.round(await page.evaluate(() => window.__clickFrame)));
  }
  return out;
}

const pyBench = `import sys, gc\nsys.path.insert(0, ${JSON.stringify(config.benchDir)})\nimport numpy as np\nimport datagen\n`;

const browser = await launchChromium();
try {
  let context = await browser.newContext({
    viewport: { width: 1500, height: 950 }
  });
  let page = await context.newPage();
  page.on('pageerror', error => note(`pageerror: ${describe(error)}`));
  await openNotebook(page);
  note('JupyterLab open, kernel idle');

  // ---- (e) demo: execute the notebook's code in the kernel, click Run.
  if (plan.demo !== false) {
    try {
      const t0 = Date.now();
      for (const source of config.demoCells) {
        await kernelExec(page, source);
      }
      out.demoExecMs = Date.now() - t0;
      await openPanel(page);
      await page.waitForFunction(
        () =>
          document.querySelector('#jp-Spotlight-pick-embeddings')?.value ===
            'embeddings' &&
          !document.querySelector('.jp-SpotlightPanel-run').disabled,
        null,
        { timeout: 60000 }
      );
      out.demoSelection = await page.evaluate(() =>
        Array.from(
          document.querySelectorAll('select[id^="jp-Spotlight-pick-"]')
        )
          .filter(e => !e.id.endsWith('-problem'))
          .map(
            e =>
              `${e.id.replace('jp-Spotlight-pick-', '')}=${e.value || '(none)'}`
          )
      );
      out.demoClick = await clickRun(page, { timeoutMs: 900000 });
      note(
        `demo click → first region ${out.demoClick.clickToRegionMs.toFixed(0)} ms, done ${out.demoClick.clickToDoneMs?.toFixed(0)} ms`
      );
      out.demoRun = await audit(page, {
        embeddings: 'embeddings',
        losses: 'losses',
        labels: 'labels',
        predictions: 'predictions',
        examples: 'images'
      });
      note(`demo run command: ${JSON.stringify(out.demoRun.timings)}`);
      // The same audit on the cpu backend, for comparison with auto's choice.
      out.demoRunCpu = await audit(page, {
        embeddings: 'embeddings',
        losses: 'losses',
        labels: 'labels',
        predictions: 'predictions',
        examples: 'images',
        backend: 'cpu'
      });
      note(`demo run command (cpu): ${JSON.stringify(out.demoRunCpu.timings)}`);
      await command(page, 'jupyterlab-spotlight:run', {
        embeddings: 'embeddings',
        losses: 'losses',
        labels: 'labels',
        predictions: 'predictions',
        examples: 'images',
        count: 1,
        steps: 1,
        backend: 'auto'
      });
    } catch (error) {
      out.demoError = describe(error);
      note(`demo failed: ${out.demoError}`);
    }
  }
  save();

  // ---- (e) 200,000 × 128: two short runs through the panel, extrapolated.
  if (plan.large) {
    try {
      const { n, d, steps } = plan.large;
      const t0 = Date.now();
      await kernelExec(
        page,
        `${pyBench}bench_emb, bench_loss, _ = datagen.planted(${n}, ${d})\ngc.collect()`
      );
      out.largeGenMs = Date.now() - t0;
      out.large = { n, d, runs: [] };
      for (const k of steps) {
        const r = await audit(page, {
          embeddings: 'bench_emb',
          losses: 'bench_loss',
          labels: '',
          predictions: '',
          examples: '',
          metadata: '',
          count: 1,
          steps: k
        });
        out.large.runs.push({ steps: k, ...r });
        note(
          `${n}x${d} steps ${k}: ${JSON.stringify(r.timings)} (${r.backend})`
        );
        save();
      }
      if (plan.large.click) {
        try {
          await command(page, 'jupyterlab-spotlight:list-variables');
          const picked = await page.evaluate(() => {
            const want = {
              embeddings: 'bench_emb',
              losses: 'bench_loss',
              labels: '',
              predictions: '',
              examples: '',
              metadata: ''
            };
            const got = {};
            for (const [role, value] of Object.entries(want)) {
              const select = document.querySelector(
                `#jp-Spotlight-pick-${role}`
              );
              if (!select) {
                got[role] = 'no picker';
                continue;
              }
              select.value = value;
              select.dispatchEvent(new Event('change'));
              got[role] = `${select.value} of [${Array.from(select.options)
                .map(o => o.value)
                .join(', ')}]`;
            }
            return got;
          });
          out.large.picked = picked;
          await page.waitForFunction(
            () => !document.querySelector('.jp-SpotlightPanel-run').disabled,
            null,
            { timeout: 30000 }
          );
          out.large.click = await clickRun(page, {
            timeoutMs: plan.large.clickTimeoutMs,
            cancelAfterFirst: true
          });
          note(
            `${n}x${d} click → first region ${out.large.click.clickToRegionMs.toFixed(0)} ms`
          );
        } catch (error) {
          out.large.clickError = describe(error);
          note(`${n}x${d} click failed: ${out.large.clickError}`);
          await command(page, 'jupyterlab-spotlight:cancel').catch(
            () => undefined
          );
        }
        save();
      }
      await kernelExec(page, 'del bench_emb, bench_loss\ngc.collect()');
    } catch (error) {
      out.largeError = describe(error);
      note(`large run failed: ${out.largeError}`);
    }
  }
  save();

  // ---- (d) transfer: 50 MB and 500 MB float32 arrays.
  out.transfer = [];
  if (plan.demo === false) {
    await openPanel(page);
  }
  for (const t of plan.transfer ?? []) {
    // `comm: true` measures the comm path of the same build: the server is made
    // to answer 404 for the transfer files, as when it cannot see them.
    const refuse = route =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: '{}'
      });
    try {
      if (t.comm) {
        await page.route('**/jupyterlab-spotlight/transfer/**', refuse);
      }
      await kernelExec(
        page,
        `${pyBench}_rng = np.random.default_rng(7)\ntx_emb = _rng.standard_normal((${t.n}, ${t.d}), dtype=np.float32)\ntx_loss = np.abs(_rng.standard_normal(${t.n}, dtype=np.float32))\ngc.collect()`
      );
      for (let rep = 0; rep < t.repeats; rep++) {
        // Chunk arrivals, from the panel's progress line ("… 12.6 of 50.4 MB · 16 MB/s").
        await page.evaluate(() => {
          window.__progress = [];
          window.__progressStart = performance.now();
          const el = document.querySelector('.jp-SpotlightPanel-progressText');
          window.__progressObserver?.disconnect();
          window.__progressObserver = new MutationObserver(() =>
            window.__progress.push([performance.now(), el.textContent])
          );
          window.__progressObserver.observe(el, {
            childList: true,
            characterData: true,
            subtree: true
          });
        });
        const r = await audit(page, {
          embeddings: 'tx_emb',
          losses: 'tx_loss',
          labels: '',
          predictions: '',
          examples: '',
          metadata: '',
          count: 1,
          steps: 1,
          backend: 'cpu'
        });
        const bytes = t.n * t.d * 4 + t.n * 4;
        const chunks = await page.evaluate(() => {
          window.__progressObserver.disconnect();
          const start = window.__progressStart;
          return window.__progress
            .map(([t, text]) => {
              const m = /^Fetching: embeddings .*?([\d.]+) of ([\d.]+) MB/.exec(
                text
              );
              return m ? [t - start, Number(m[1])] : null;
            })
            .filter(x => x);
        });
        let firstChunkMs = null;
        let steadyMBps = null;
        if (chunks.length >= 3) {
          const first = chunks.find(c => c[1] > 0);
          const last = chunks[chunks.length - 1];
          firstChunkMs = first[0];
          steadyMBps = (last[1] - first[1]) / ((last[0] - first[0]) / 1000);
        }
        out.transfer.push({
          chunksSeen: chunks.length,
          firstChunkMs,
          steadyMBps,
          n: t.n,
          d: t.d,
          bytes,
          fetchMs: r.timings.fetchMs,
          mbPerS: bytes / 1e6 / (r.timings.fetchMs / 1000),
          timings: r.timings,
          transports: r.transports,
          forcedComm: !!t.comm
        });
        note(
          `transfer ${(bytes / 1e6).toFixed(0)} MB: ${r.timings.fetchMs.toFixed(0)} ms, ${(bytes / 1e3 / r.timings.fetchMs).toFixed(1)} MB/s (${JSON.stringify(r.transports)})`
        );
        save();
      }
      await kernelExec(page, 'del tx_emb, tx_loss\ngc.collect()');
    } catch (error) {
      out.transfer.push({ n: t.n, d: t.d, error: describe(error) });
      note(`transfer ${t.n}x${t.d} failed: ${describe(error)}`);
    } finally {
      if (t.comm) {
        await page.unroute('**/jupyterlab-spotlight/transfer/**', refuse);
      }
    }
  }
  save();

  // ---- (d) for attribution: a plain comm in the same kernel, without the
  // helper or the bridge: 4 MiB buffers requested 3 at a time (as the bridge
  // does), and one 48 MiB message.
  if (plan.rawComm) {
    try {
      await kernelExec(
        page,
        [
          'import numpy as np, comm as _comm',
          '_raw_blob = np.ones(48 * 2**20, dtype=np.uint8)',
          'def _raw_target(c, open_msg):',
          '    def _recv(msg):',
          '        d = msg["content"]["data"]',
          '        c.send({"i": d["i"]}, buffers=[memoryview(_raw_blob)[: d["bytes"]]])',
          '    c.on_msg(_recv)',
          "_comm.get_comm_manager().register_target('spotlight_bench_raw', _raw_target)"
        ].join('\n')
      );
      out.rawComm = await page.evaluate(async plan => {
        const kernel = window.__benchNotebook.sessionContext.session.kernel;
        const c = kernel.createComm('spotlight_bench_raw');
        await c.open({}).done;
        const waiting = new Map();
        c.onMsg = msg => {
          const i = msg.content.data.i;
          const buffer = msg.buffers[0];
          waiting.get(i)?.(buffer.byteLength);
          waiting.delete(i);
        };
        const ask = (i, bytes) =>
          new Promise(resolve => {
            waiting.set(i, resolve);
            c.send({ i, bytes });
          });
        const results = [];
        for (const p of plan) {
          const t0 = performance.now();
          let next = 0;
          let received = 0;
          const pending = [];
          while (next < p.count || pending.length) {
            while (next < p.count && pending.length < p.inFlight) {
              pending.push(ask(`${p.label}-${next}`, p.bytes));
              next++;
            }
            received += await pending.shift();
          }
          const ms = performance.now() - t0;
          results.push({ ...p, received, ms, mbPerS: received / 1e3 / ms });
        }
        c.close();
        return results;
      }, plan.rawComm);
      for (const r of out.rawComm) {
        note(`raw comm ${r.label}: ${r.mbPerS.toFixed(1)} MB/s`);
      }
      await kernelExec(page, 'del _raw_blob\ngc.collect()');
    } catch (error) {
      out.rawCommError = describe(error);
      note(`raw comm failed: ${out.rawCommError}`);
    }
  }
  save();

  // ---- (f) peak memory of a 1,000,000 × 128 audit, each backend in a fresh page.
  if (plan.memory) {
    out.memory = [];
    try {
      const { n, d, steps, backends } = plan.memory;
      await kernelExec(
        page,
        `${pyBench}big_emb, big_loss, _ = datagen.planted(${n}, ${d})\ngc.collect()`
      );
      for (const backend of backends) {
        await context.close();
        const before = new Set(chromiumMemory().map(p => p.pid));
        context = await browser.newContext({
          viewport: { width: 1500, height: 950 }
        });
        page = await context.newPage();
        page.on('pageerror', error => note(`pageerror: ${describe(error)}`));
        await openNotebook(page);
        await openPanel(page);
        const renderers = () =>
          chromiumMemory().filter(
            p => p.type === 'renderer' && !before.has(p.pid)
          );
        const cdp = await context.newCDPSession(page);
        await cdp.send('Performance.enable');
        const heap = async () => {
          const { metrics } = await cdp.send('Performance.getMetrics');
          const get = name => metrics.find(m => m.name === name)?.value ?? null;
          return { used: get('JSHeapUsedSize'), total: get('JSHeapTotalSize') };
        };
        const baseline = {
          renderer: Math.max(0, ...renderers().map(p => p.rss)),
          all: chromiumMemory().reduce((a, p) => a + p.rss, 0),
          heap: await heap()
        };
        const samples = [];
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const t = Date.now();
            const r = renderers();
            const all = chromiumMemory();
            let h = null;
            try {
              h = await Promise.race([
                heap(),
                new Promise(resolve => setTimeout(() => resolve(null), 1000))
              ]);
            } catch {
              h = null;
            }
            samples.push({
              t,
              maxRendererRss: Math.max(0, ...r.map(p => p.rss)),
              chromiumRss: all.reduce((a, p) => a + p.rss, 0),
              heapUsed: h?.used ?? null
            });
            await new Promise(resolve => setTimeout(resolve, 100));
          }
        })();
        let run = null;
        let runError = null;
        try {
          run = await audit(page, {
            embeddings: 'big_emb',
            losses: 'big_loss',
            labels: '',
            predictions: '',
            examples: '',
            metadata: '',
            count: 1,
            steps,
            backend
          });
        } catch (error) {
          runError = describe(error);
        }
        sampling = false;
        await sampler;
        const after = renderers();
        const peak = key =>
          samples.reduce(
            (a, s) => (s[key] !== null && s[key] > a ? s[key] : a),
            0
          );
        const record = {
          n,
          d,
          steps,
          requested: backend,
          run,
          error: runError,
          baselineRendererRss: baseline.renderer,
          baselineChromiumRss: baseline.all,
          baselineHeapUsed: baseline.heap.used,
          peakRendererHwm: Math.max(0, ...after.map(p => p.hwm)),
          peakRendererRssSampled: peak('maxRendererRss'),
          peakChromiumRssSampled: peak('chromiumRss'),
          peakHeapUsedSampled: peak('heapUsed'),
          samples: samples.length,
          durationMs: samples.length
            ? samples[samples.length - 1].t - samples[0].t
            : 0,
          series: samples
            .filter((_, i) => i % 5 === 0)
            .map(x => [
              x.t - samples[0].t,
              Math.round(x.maxRendererRss / 2 ** 20),
              x.heapUsed === null ? null : Math.round(x.heapUsed / 2 ** 20)
            ])
        };
        out.memory.push(record);
        note(
          `memory ${n}x${d} ${backend}: renderer peak RSS ${(Math.max(record.peakRendererHwm, record.peakRendererRssSampled) / 2 ** 20).toFixed(0)} MiB, JS heap peak ${(record.peakHeapUsedSampled / 2 ** 20).toFixed(0)} MiB${runError ? `, error ${runError}` : `, ${run.backend}`}`
        );
        save();
      }
      await kernelExec(page, 'del big_emb, big_loss\ngc.collect()').catch(
        () => undefined
      );
    } catch (error) {
      out.memoryError = describe(error);
      note(`memory run failed: ${out.memoryError}`);
    }
  }
  save();

  // ---- (l) main-thread responsiveness during an audit, then 1M × 768.
  if (plan.responsiveness) {
    const { n, d, count, steps, workers } = plan.responsiveness;
    const r = { n, d, count, steps, workers };
    out.responsiveness = r;
    try {
      await openPanel(page);
      const t0 = Date.now();
      await kernelExec(
        page,
        `${pyBench}resp_emb, resp_loss, _ = datagen.planted(${n}, ${d})\ngc.collect()`
      );
      r.genMs = Date.now() - t0;
      await command(page, 'jupyterlab-spotlight:list-variables');
      r.picked = await pickVariables(page, {
        embeddings: 'resp_emb',
        losses: 'resp_loss',
        labels: '',
        predictions: '',
        examples: '',
        metadata: ''
      });
      // Twice: with the audit view closed (the page's own work), then open
      // (its WebGL map redraws as regions arrive; on a software renderer
      // such as this machine's SwiftShader a frame of it takes ~150 ms).
      for (const view of ['closed', 'open']) {
        const m =
          view === 'closed'
            ? r
            : (r.viewOpen = { n, d, count, steps, workers });
        m.auditView = view;
        await page.evaluate(
          async ({ view, id }) => {
            const app = window.jupyterapp;
            if (view === 'closed') {
              for (const w of Array.from(app.shell.widgets('main'))) {
                if (w.id === id) {
                  w.close();
                }
              }
            } else {
              await app.commands.execute(
                'jupyterlab-spotlight:open-audit-view',
                { activate: false }
              );
            }
          },
          { view, id: 'jupyterlab-spotlight-audit' }
        );
        await page.waitForTimeout(1000);
        m.before = await clickLatencies(page, 5);
        note(`responsiveness: idle click → frame ${JSON.stringify(m.before)}`);
        // Long tasks and clicks from the click on Find spotlights to the last region.
        await page.evaluate(count => {
          window.__longtasks = [];
          window.__lastRegionAt = null;
          window.__findAt = null;
          // One observer for both runs (a second would count each task twice).
          if (!window.__longtaskObserver) {
            window.__longtaskObserver = new PerformanceObserver(list => {
              for (const e of list.getEntries()) {
                // With the panel's stage when the task was reported.
                window.__longtasks.push([
                  e.startTime,
                  e.duration,
                  document.querySelector('.jp-SpotlightPanel-status')?.dataset
                    .stage ?? ''
                ]);
              }
            });
            window.__longtaskObserver.observe({ type: 'longtask' });
          }
          // The first run's regions are still listed: wait for this search.
          window.__sawSearching = false;
          const observer = new MutationObserver(() => {
            const stage = document.querySelector('.jp-SpotlightPanel-status')
              ?.dataset.stage;
            window.__sawSearching ||= stage === 'searching';
            if (
              window.__lastRegionAt === null &&
              window.__sawSearching &&
              document.querySelectorAll('.jp-SpotlightRegion').length >=
                count &&
              document.querySelector('.jp-SpotlightPanel-status')?.dataset
                .stage !== 'searching'
            ) {
              window.__lastRegionAt = performance.now();
              observer.disconnect();
            }
          });
          observer.observe(document.body, {
            childList: true,
            subtree: true,
            attributes: true
          });
        }, count);
        // The run command runs what Find spotlights runs (the model's run) on
        // the picked variables, with these options.
        await page.evaluate(() => {
          window.__findAt = performance.now();
        });
        const started = page.evaluate(
          ({ count, steps, workers }) =>
            window.jupyterapp.commands.execute('jupyterlab-spotlight:run', {
              count,
              steps,
              workers,
              permutations: 0
            }),
          { count, steps, workers }
        );
        m.during = [];
        let done = false;
        started.then(
          () => (done = true),
          () => (done = true)
        );
        while (!done) {
          await page.waitForTimeout(2000);
          if (done) {
            break;
          }
          m.during.push(...(await clickLatencies(page, 1)));
        }
        m.summary = await started;
        const t = await page.evaluate(() => ({
          find: window.__findAt,
          last: window.__lastRegionAt ?? performance.now(),
          tasks: window.__longtasks
        }));
        const inRun = t.tasks.filter(
          ([start, dur]) => start + dur >= t.find && start <= t.last
        );
        m.findToLastRegionMs = t.last - t.find;
        m.longTasks = inRun.length;
        m.longTaskTotalMs = inRun.reduce((a, [, dur]) => a + dur, 0);
        m.longestTaskMs = inRun.reduce((a, [, dur]) => Math.max(a, dur), 0);
        // The three longest: when (ms after Find) and in which stage.
        m.longestTasks = [...inRun]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([start, dur, stage]) => ({
            atMs: Math.round(start - t.find),
            ms: Math.round(dur),
            stage
          }));
        m.backend = m.summary?.backend ?? null;
        m.backendReason = m.summary?.backendReason ?? null;
        note(
          `responsiveness ${n}x${d} (audit view ${view}): longest long task ${m.longestTaskMs.toFixed(0)} ms (${m.longTasks}, ${m.longTaskTotalMs.toFixed(0)} ms in all) over ${(m.findToLastRegionMs / 1000).toFixed(1)} s; longest ${JSON.stringify(m.longestTasks)}; clicks during ${JSON.stringify(m.during)}`
        );
      }
      await kernelExec(page, 'del resp_emb, resp_loss\ngc.collect()');
    } catch (error) {
      r.error = describe(error);
      note(`responsiveness failed: ${r.error}`);
    }
    save();
  }
  if (plan.million) {
    const { n, d, steps, workers } = plan.million;
    const m = { n, d, steps, workers };
    out.million = m;
    try {
      await context.close();
      const before = new Set(chromiumMemory().map(p => p.pid));
      context = await browser.newContext({
        viewport: { width: 1500, height: 950 }
      });
      page = await context.newPage();
      page.on('pageerror', error => note(`pageerror: ${describe(error)}`));
      await openNotebook(page);
      await openPanel(page);
      // The default transfer budget (1 GiB) refuses X: raise it for this page.
      m.budget = await page.evaluate(
        async mib => {
          // The settings registry is the settings plugin's service (Lumino's
          // plugin registry keeps each plugin's data in a private map).
          const app = window.jupyterapp;
          const plugins = app.pluginRegistry?._plugins ?? app._plugins;
          const registry = plugins?.get(
            '@jupyterlab/apputils-extension:settings'
          )?.service;
          if (!registry) {
            return 'no settings registry';
          }
          await registry.set(
            'jupyterlab-spotlight:plugin',
            'transferBudgetMB',
            mib
          );
          return mib;
        },
        Math.ceil((n * d * 4) / 2 ** 20) + 64
      );
      note(`1M: transfer budget ${m.budget}`);
      const t0 = Date.now();
      await kernelExec(
        page,
        `${pyBench}_rng = np.random.default_rng(3)\nmil_emb = _rng.standard_normal((${n}, ${d}), dtype=np.float32)\nmil_loss = np.abs(_rng.standard_normal(${n}, dtype=np.float32))\ngc.collect()`
      );
      m.genMs = Date.now() - t0;
      const renderers = () =>
        chromiumMemory().filter(
          p => p.type === 'renderer' && !before.has(p.pid)
        );
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      const heapUsed = async () => {
        const { metrics } = await cdp.send('Performance.getMetrics');
        return metrics.find(x => x.name === 'JSHeapUsedSize')?.value ?? null;
      };
      m.baselineRendererRss = Math.max(0, ...renderers().map(p => p.rss));
      let peakRss = 0;
      let peakHeap = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peakRss = Math.max(peakRss, ...renderers().map(p => p.rss));
          const h = await Promise.race([
            heapUsed().catch(() => null),
            new Promise(resolve => setTimeout(() => resolve(null), 1000))
          ]);
          peakHeap = Math.max(peakHeap, h ?? 0);
          await new Promise(resolve => setTimeout(resolve, 200));
        }
      })();
      try {
        m.run = await audit(page, {
          embeddings: 'mil_emb',
          losses: 'mil_loss',
          labels: '',
          predictions: '',
          examples: '',
          metadata: '',
          count: 1,
          steps,
          workers,
          permutations: 0
        });
      } catch (error) {
        m.error = describe(error);
      }
      sampling = false;
      await sampler;
      m.peakRendererRss = Math.max(peakRss, ...renderers().map(p => p.hwm));
      m.peakPageHeapUsed = peakHeap;
      if (m.run) {
        m.msPerStep = m.run.timings.searchMs / steps;
      }
      note(
        `1M: ${n}x${d} ${m.error ? `failed: ${m.error}` : `${JSON.stringify(m.run.timings)} (${m.run.backend}; ${m.msPerStep.toFixed(1)} ms/step)`}; renderer peak ${(m.peakRendererRss / 2 ** 30).toFixed(2)} GiB, page heap peak ${(peakHeap / 2 ** 20).toFixed(0)} MiB`
      );
      await kernelExec(page, 'del mil_emb, mil_loss\ngc.collect()').catch(
        () => undefined
      );
    } catch (error) {
      m.error = describe(error);
      note(`1M failed: ${m.error}`);
    }
    save();
  }
} finally {
  await browser.close();
  out.finished = new Date().toISOString();
  save();
}

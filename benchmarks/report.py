"""Render benchmarks/results.json (written by run.py) as RESULTS.md.

``python benchmarks/report.py`` re-renders RESULTS.md from results.json
without measuring again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

T = 5000
COUNT = 5
NOT_MEASURED = "not measured"


def fmt(x, digits=1, unit=""):
    """A number for a table: thousands separators, `digits` decimals below
    100, three significant digits below 1; '—' for None or NaN."""
    if x is None:
        return "—"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if x != x:
        return "—"
    if abs(x) >= 100:
        s = f"{x:,.0f}"
    elif abs(x) >= 1 or x == 0:
        s = f"{x:.{digits}f}"
    else:
        s = f"{x:.3g}"
    return s + unit


def secs(ms):
    return None if ms is None else ms / 1000


def size_label(n, d):
    return f"{n:,} × {d}"


def per_spotlight_ms(r):
    """T = 5000 per-spotlight time: measured when k = T, else the measured
    spotlight with its k steps replaced by T steps at the mean step time."""
    k = r["steps"]
    mean = r["meanStepMs"]
    if k >= T:
        return r["spotlightMs"], True
    return r["spotlightMs"] - k * mean + T * mean, False


def engine_stats(r):
    """The engine's own work counters of the timed spotlight, if it reports them."""
    stats = (r.get("extra") or {}).get("spotlight.stats")
    return stats if isinstance(stats, dict) and stats.get("steps") else None


def x_bytes(r):
    """Bytes of X read per step: the engine's own counters when it reports
    them (`spotlight.stats.bytesRead / steps`), else modelled from the
    wrapped kernel's calls."""
    stats = engine_stats(r)
    if stats and stats.get("bytesRead") is not None:
        return stats["bytesRead"] / stats["steps"], "engine"
    n, d, k = r["n"], r["d"], r["steps"]
    calls = r.get("kernelCalls") or {}
    if set(calls) == {"TensorKernel"}:
        return 8 * n * (d + 2) * calls["TensorKernel"] / k, "model"
    if set(calls) == {"HostKernel"} and r.get("hostPass2RowsMean") is not None:
        rows = r.get("hostPass2RowsMean") or 0
        return (4 * n * d + 4 * d * rows) * calls["HostKernel"] / k, "model"
    return None, "unknown"


def label(r):
    """'Chromium cpu', with '(pruning off)' for the unpruned runs."""
    name = f"{r['platform']} {r.get('backend') or r.get('requested')}"
    if r.get("pruningRequested") is False:
        name += " (pruning off)"
    return name


def engine_rows(report):
    rows = []
    for platform in ("node", "chromium"):
        for r in (report.get(platform) or {}).get("results", []):
            r = dict(r)
            r["platform"] = "Node" if platform == "node" else "Chromium"
            rows.append(r)
    return rows


def numpy_rows(report, n, d, threads="default"):
    """Every pass of numpy at (n, d) with these threads."""
    return [r for r in report.get("numpy", []) if r["n"] == n and r["d"] == d and str(r["threads"]) == threads]


def numpy_row(report, n, d, threads="default"):
    """The faster pass of numpy at (n, d) with these threads."""
    rows = numpy_rows(report, n, d, threads)
    return min(rows, key=lambda r: r["meanStepMs"]) if rows else None


def numpy_cell(report, n, d, threads):
    """'fast (other)' ms/step over the passes."""
    rows = sorted(numpy_rows(report, n, d, threads), key=lambda r: r["meanStepMs"])
    if not rows:
        return "—"
    return fmt(rows[0]["meanStepMs"], 2) + (
        f" ({', '.join(fmt(r['meanStepMs'], 2) for r in rows[1:])})" if len(rows) > 1 else ""
    )


def best_numpy(report, n, d):
    """The faster of numpy's two runs (default threads, one thread)."""
    rows = [r for r in (numpy_row(report, n, d), numpy_row(report, n, d, "1")) if r]
    return min(rows, key=lambda r: r["meanStepMs"]) if rows else None


def numpy_spotlight_ms(r):
    if r is None:
        return None
    return r["spotlightMs"] - r["steps"] * r["meanStepMs"] + T * r["meanStepMs"]


def render(report: dict) -> str:
    out: list[str] = []
    w = out.append
    m = report.get("machine", {})
    v = report.get("versions", {})
    bw = report.get("bandwidth") or {}
    w("# Benchmark results")
    w("")
    w(
        f"One run of `{report.get('command', 'make bench')}` on {report.get('date', '?')}, "
        f"{report.get('elapsedS', 0) / 60:.1f} minutes. What each table means: [README.md](README.md). "
        "Raw numbers: `results.json` (same run)."
        + (" **Quick smoke run (`--quick`): small sizes only.**" if report.get("quick") else "")
    )
    w("")
    w("## Machine and versions")
    w("")
    w("| | |")
    w("| --- | --- |")
    w(f"| CPU | {m.get('cpu', '?')}, {m.get('cores', '?')} cores ({m.get('Hypervisor vendor', 'bare metal')} VM), L2 {m.get('L2 cache', '?')}, L3 {m.get('L3 cache', '?')}, SIMD {m.get('simd', '?')} |")
    w(f"| memory | {m.get('memGiB', 0):.1f} GiB, no GPU |")
    w(f"| OS | {m.get('platform', '?')} |")
    w(f"| node / chromium | {v.get('node', '?')} / {v.get('chromium', '?')} (headless, SwiftShader WebGL) |")
    w(f"| tfjs / tfjs-backend-wasm | {v.get('@tensorflow/tfjs', '?')} / {v.get('@tensorflow/tfjs-backend-wasm', '?')} |")
    w(f"| python / numpy / BLAS | {v.get('python', '?')} / {v.get('numpy', '?')} / {v.get('blas', '?')} |")
    w(f"| jupyterlab / playwright-core / esbuild | {v.get('jupyterlab', '?')} / {v.get('playwright-core', '?')} / {v.get('esbuild', '?')} |")
    dirty = v.get("dirty") or []
    w(
        f"| engine source | commit {v.get('commit', '?')}"
        + (f" with uncommitted changes in {', '.join(dirty)}" if dirty else "")
        + f"; tables a–c bundle src/spotlight as it was at the run; tables d–f use the installed labextension (built {v.get('labextensionBuilt', '?')}) |"
    )
    env_c = (report.get("chromium") or {}).get("env") or {}
    env_n = (report.get("node") or {}).get("env") or {}
    webgl = env_c.get("webgl")
    if isinstance(webgl, dict):
        w(f"| WebGL renderer | {webgl.get('renderer')} (software: {webgl.get('software')}) |")
    w(
        f"| WASM | Chromium: SIMD {env_c.get('wasmSimd')}, threads {env_c.get('wasmThreads')}; "
        f"Node: SIMD {env_n.get('wasmSimd')}, threads {env_n.get('wasmThreads')} |"
    )
    w("")
    loads = report.get("load") or []
    if loads:
        w(
            "Load average (1, 5, 15 min) when each phase started — the machine is shared, so numbers taken "
            "under load are slower than the machine can do:"
        )
        w("")
        w("| phase | load average |")
        w("| --- | --- |")
        for phase, la in loads:
            w(f"| {phase} | {la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f} |")
        w("")

    rows = engine_rows(report)
    main_rows = [r for r in rows if r.get("variant") not in ("yield", "no-yield")]
    plain_rows = [r for r in main_rows if not r.get("variant")]
    sizes = []
    for r in main_rows + report.get("numpy", []):
        if (r["n"], r["d"]) not in sizes:
            sizes.append((r["n"], r["d"]))
    sizes.sort(key=lambda s: s[0] * s[1])

    # ---------------------------------------------------------------- (a)
    w("## a. Engine time per step and per spotlight")
    w("")
    w(
        f"Paper defaults (lr 0.01, patience 10, S = 2 % of N), one spotlight per timed run. To stay within the "
        f"time budget each run has k ≤ {T} steps — the whole barrier schedule compressed into k steps — with k "
        f"chosen from a short probe run so that the steps take about "
        f"{(report.get('budgets') or {}).get('engineMs', 6000) / 1000:.0f} s (numpy: "
        f"{(report.get('budgets') or {}).get('numpyMs', 8000) / 1000:.0f} s). **The T = {T} time per spotlight is "
        f"extrapolated** (measured spotlight time − k × mean step + {T} × mean step) unless marked *measured*. "
        "Mean step = wall time between the ends of steps (after a 10 % warm-up), so it includes the engine's "
        "host work, progress callbacks and event-loop yields; `moments()` = time inside the kernel's pass over X "
        "(incl. the read-back). Setup = backend selection, ‖x‖², upload (and packing) of X before step 1. "
        "'cpu' is the engine's default cpu kernel (with exact shell evaluation when the engine has it: see the full "
        "passes in table c); 'cpu (pruning off)' ran with the engine option `pruning: false`. A pruned run's step "
        "cost depends on its trajectory, so its T = 5000 figure is reliable only when measured (k = 5000)."
    )
    w("")
    w(
        "| N × D | where | backend | k timed | setup (ms) | mean ms/step | median ms/step | moments() ms/step | "
        f"per spotlight, T = {T} (s) | search of {COUNT} (s) |"
    )
    w("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, d in sizes:
        for r in [x for x in main_rows if x["n"] == n and x["d"] == d]:
            if not r.get("ok"):
                w(f"| {size_label(n, d)} | {r['platform']} | {r['requested']} | {NOT_MEASURED}: {r.get('error', '?')} | | | | | | |")
                continue
            ps, measured = per_spotlight_ms(r)
            kms = sum((r.get("kernelMs") or {}).values()) / r["steps"]
            w(
                f"| {size_label(n, d)} | {r['platform']} | {label(r).split(' ', 1)[1]} | {r['steps']:,} | {fmt(r['setupMs'], 0)} | "
                f"{fmt(r['meanStepMs'], 2)} | {fmt(r['medianStepMs'], 2)} | {fmt(kms, 2)} | "
                f"{fmt(secs(ps), 1)}{' *measured*' if measured else ''} | {fmt(secs(r['setupMs'] + COUNT * ps), 0)} |"
            )
    w("")
    pairs = [r for r in rows if r.get("variant") in ("yield", "no-yield") and r.get("ok")]
    if pairs:
        w(
            "Cost of the engine's event-loop yields (a `setTimeout(0)` whenever 30 ms have passed; Chromium clamps "
            "nested timeouts to ≥ 4 ms, and under load the woken thread also waits for a core): the smallest size "
            f"in Chromium, {pairs[0]['steps']:,} steps, with and without yields (`yieldIntervalMs` 10⁹), alternated "
            "twice; means of the two runs."
        )
        w("")
        w("| N × D | backend | mean ms/step with yields | without | yield overhead |")
        w("| --- | --- | ---: | ---: | ---: |")
        for backend in ("wasm", "cpu"):
            y = [r["meanStepMs"] for r in pairs if r.get("backend") == backend and r["variant"] == "yield"]
            ny = [r["meanStepMs"] for r in pairs if r.get("backend") == backend and r["variant"] == "no-yield"]
            if y and ny:
                a, b = sum(y) / len(y), sum(ny) / len(ny)
                w(
                    f"| {size_label(pairs[0]['n'], pairs[0]['d'])} | {backend} | {fmt(a, 3)} ({', '.join(fmt(x, 3) for x in y)}) | "
                    f"{fmt(b, 3)} ({', '.join(fmt(x, 3) for x in ny)}) | {100 * (a / b - 1):.0f} % |"
                )
        w("")
    kv = env_c.get("kernelVariants") or []
    if kv:
        w(
            "The tfjs kernel's layout on wasm, timed directly (`TensorKernel.create` and `moments` in a loop, no "
            "optimiser, no yields): the engine's layout (X̃ᵀ and X̃ in blocks of 2^20 values, which it uses so that "
            "XNNPACK's one-time packing of each block stays short) against larger blocks and against keeping only "
            "X̃ (Xμ then reads X̃ transposed)."
        )
        w("")
        w("| N × D | layout | blocks (rows of X / columns) | create (ms) | ms per moments() | GB/s of X (8·N·(D+2)) |")
        w("| --- | --- | --- | ---: | ---: | ---: |")
        for r in kv:
            if not r.get("ok"):
                w(f"| {size_label(r['n'], r['d'])} | {r['label']} | {NOT_MEASURED}: {r.get('error')} | | | |")
                continue
            b = 8 * r["n"] * (r["d"] + 2)
            blocks = r.get("blocks") or {}
            w(
                f"| {size_label(r['n'], r['d'])} | {r['label']} | {blocks.get('rows', '?')} / {blocks.get('columns', '?')} | "
                f"{fmt(r['createMs'], 0)} | {fmt(r['meanMs'], 2)} (median {fmt(r['medianMs'], 2)}) | "
                f"{b / (r['meanMs'] / 1000) / 1e9:.2f} |"
            )
        w("")

    # ---------------------------------------------------------------- (b)
    w("## b. numpy (float32, two matrix-vector products per step) and the ratio engine / numpy")
    w("")
    w(
        "`spotlight_numpy.py`: the same method, written as a numpy user would (BLAS `sgemv` for Xμ and Xᵀg, "
        "analytic gradient, Adam and the plateau rule on the host), timed like the engine (k steps of a compressed "
        f"schedule, T = {T} extrapolated), in two passes: before and after the engine runs; the ms/step columns show "
        "the faster pass and, in brackets, the other; per-spotlight times and ratios use the faster pass, so that a "
        "load spike cannot flatter the engine. 'default' = numpy's own BLAS threads (2 here), '1 thread' = "
        "OPENBLAS_NUM_THREADS=1 (on a loaded 2-core machine numpy's two BLAS threads can be much slower than one). "
        "The engine's WASM backend is single-threaded. Ratio = engine time per spotlight / the **faster** numpy "
        "run's time per spotlight (the stricter comparison); < 1 means the engine is faster."
    )
    w("")
    w(
        "| N × D | numpy ms/step (default) | per spotlight (s) | numpy ms/step (1 thread) | per spotlight (s) | "
        "Node wasm | Node cpu | Chromium webgl | Chromium wasm | Chromium cpu |"
    )
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, d in sizes:
        npd, np1 = numpy_row(report, n, d), numpy_row(report, n, d, "1")
        psd, ps1 = numpy_spotlight_ms(npd), numpy_spotlight_ms(np1)
        psb = numpy_spotlight_ms(best_numpy(report, n, d))
        cells = []
        for platform, backend in (("Node", "wasm"), ("Node", "cpu"), ("Chromium", "webgl"), ("Chromium", "wasm"), ("Chromium", "cpu")):
            r = next((x for x in plain_rows if x["platform"] == platform and x["n"] == n and x["d"] == d and x.get("requested") == backend), None)
            if not r or not r.get("ok") or not psb:
                cells.append(NOT_MEASURED if not r or not r.get("ok") else "—")
                continue
            ps, _ = per_spotlight_ms(r)
            cells.append(f"{ps / psb:.2f}×")
        w(
            f"| {size_label(n, d)} | {numpy_cell(report, n, d, 'default')} | {fmt(secs(psd), 1)} | "
            f"{numpy_cell(report, n, d, '1')} | {fmt(secs(ps1), 1)} | " + " | ".join(cells) + " |"
        )
    w("")
    w(
        "Sanity (same computation): K/S and the weighted loss f at the end of each timed run. Runs with different "
        "k differ because the schedule is compressed differently (a short k does not converge: K ≫ S). At equal "
        "k the float32 runs agree only to about 1 %: the plateau rule's discrete halvings turn float32 rounding "
        "into slightly different end points. The 'numpy float64' rows run the same numpy code in float64 at "
        f"T = {T}; they should match the engine's cpu backend (float64 host kernel) closely, which checks that "
        "numpy and the engine compute the same method."
    )
    w("")
    w("| N × D | implementation | k | K / S | f |")
    w("| --- | --- | ---: | ---: | ---: |")
    for n, d in sizes:
        for name, r in [
            ("numpy (default)", numpy_row(report, n, d)),
            ("numpy (1 thread)", numpy_row(report, n, d, "1")),
            ("numpy float64", numpy_row(report, n, d, "float64 check")),
        ] + [
            (label(x), x) for x in main_rows if x["n"] == n and x["d"] == d and x.get("ok")
        ]:
            if r:
                w(f"| {size_label(n, d)} | {name} | {r['steps']:,} | {r['totalWeight'] / r['size']:.3f} | {r['weightedLoss']:.4f} |")
    w("")

    # ---------------------------------------------------------------- (c)
    w("## c. Bytes read per step and effective bandwidth")
    w("")
    if bw:
        w(
            f"Memory bandwidth measured in the same run, one thread: numpy copy of {bw['bytes'] / 2**20:.0f} MiB "
            f"**{bw['copyGBps']:.1f} GB/s** (read + write bytes counted, as STREAM does; {bw['copyOneWayGBps']:.1f} GB/s "
            f"of source read), numpy float32 sum (read only) {bw['readGBps']:.1f} GB/s. The floor of a step is its "
            "bytes over the bandwidth; '% of copy' = effective GB/s / copy GB/s (the issue's target: ≥ 50 %)."
        )
    else:
        w(f"Memory bandwidth: {NOT_MEASURED}.")
    w("")
    w(
        "Bytes = bytes of X the implementation reads per step (the small N-vectors are left out). Engine: its own "
        "counters (`spotlight.stats.bytesRead / steps`: the tfjs kernels read 2N rows of D + 2 values per step — "
        "X̃ = [X | 1 | ‖x‖²], on wasm also X̃ᵀ; the cpu host kernel reads N + min(#active, N − #active) rows of D "
        "values unpruned, and with exact shell evaluation only the shell plus N per rescan); rows marked † are "
        "modelled from the wrapped kernel's calls instead. numpy: 8·N·D (two sgemv). Effective GB/s = bytes / mean "
        "step time; 'in moments()' = bytes / time inside the kernel's pass. Sizes up to 10,000 × 64 (≤ 2.6 MB) fit "
        "in the L2/L3 caches, so their GB/s are cache, not memory, numbers."
    )
    w("")
    w("| N × D | implementation | MB read / step | effective GB/s | % of copy | in moments() GB/s | % of copy | full passes / step (engine's count) |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    copy = bw.get("copyGBps")
    for n, d in sizes:
        for name, r in (("numpy (default)", numpy_row(report, n, d)), ("numpy (1 thread)", numpy_row(report, n, d, "1"))):
            if r:
                b = 8 * n * d
                g = b / (r["meanStepMs"] / 1000) / 1e9
                w(f"| {size_label(n, d)} | {name} | {b / 1e6:.1f} | {g:.1f} | {fmt(copy and 100 * g / copy, 0)} % | | | (2 reads of X) |")
        for r in [x for x in main_rows if x["n"] == n and x["d"] == d and x.get("ok")]:
            b, source = x_bytes(r)
            stats = engine_stats(r)
            passes = f"{stats['fullPasses'] / stats['steps']:.3g}" if stats else "—"
            if b is None:
                w(f"| {size_label(n, d)} | {label(r)} | n/a | | | | | {passes} |")
                continue
            g = b / (r["meanStepMs"] / 1000) / 1e9
            kms = sum((r.get("kernelMs") or {}).values()) / r["steps"]
            gk = b / (kms / 1000) / 1e9 if kms > 0 else None
            w(
                f"| {size_label(n, d)} | {label(r)} | {b / 1e6:.1f}{'' if source == 'engine' else ' †'} | {g:.2f} | "
                f"{fmt(copy and 100 * g / copy, 0)} % | {fmt(gk, 2)} | {fmt(copy and gk and 100 * gk / copy, 0)} % | {passes} |"
            )
    w("")
    w(
        "† (if any): modelled from the kernel's calls, the engine did not report its own counters. Full passes "
        "/ step: from the engine's counters; < 1 means exact shell evaluation read only the shell on most steps "
        "(its effective GB/s counts only the bytes actually read, so a pruned run can be fast at a low GB/s)."
    )
    w("")
    extras = [
        (r, {k: v for k, v in r["extra"].items() if k != "spotlight.stats"})
        for r in main_rows
        if r.get("extra")
    ]
    extras = [(r, e) for r, e in extras if e]
    if extras:
        w("Counters the engine reported beyond the known result fields:")
        w("")
        for r, extra in extras:
            w(f"- {label(r)} {size_label(r['n'], r['d'])}: `{json.dumps(extra)[:400]}`")
        w("")

    # ---------------------------------------------------------------- (d)
    lab = report.get("lab")
    w("## d. Kernel → browser transfer through the extension")
    w("")
    if not lab:
        w(f"{NOT_MEASURED}: the JupyterLab part did not run (`--skip-lab` or an error).")
    else:
        w(
            "`jupyterlab-spotlight:run` with steps 1, count 1, backend cpu on float32 arrays made in the kernel "
            "(N × 125 embeddings + N losses), repeated back to back; MB/s = bytes / fetchMs (fetchMs = the "
            "panel's `check` plus both fetches: the helper's conversion and CRC, the transport, the browser's "
            "CRC-32 check and copy). The transport column says how each array came (`file`: written by the "
            "kernel and streamed by the server extension over HTTP; `comm`: chunks through the kernel's "
            "websocket; the rows marked 404 measure the same build's comm path, the server being made to answer "
            "404 for the files as when it cannot see them). Target ≥ 150 MB/s. The last two columns come from the panel's progress "
            "line, recorded at each update: how long after the command the first bytes of the embeddings arrived "
            "(the `check` request and the helper's preparation) and the rate between the first and the last update."
        )
        w("")
        w(
            "| array | bytes | transport | fetchMs | MB/s | first embeddings bytes after (ms) "
            "| steady MB/s between updates |"
        )
        w("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
        for t in lab.get("transfer", []):
            if t.get("error"):
                w(f"| {size_label(t['n'], t['d'])} float32 | | | {NOT_MEASURED}: {t['error']} | |")
            else:
                transports = t.get("transports") or {}
                via = ", ".join(sorted(set(transports.values()))) or "comm"
                if t.get("forcedComm"):
                    via += " (server made to answer 404)"
                w(
                    f"| {size_label(t['n'], t['d'])} float32 + losses | {t['bytes'] / 1e6:.1f} MB | {via} | "
                    f"{t['fetchMs']:,.0f} | **{t['mbPerS']:.1f}** | {fmt(t.get('firstChunkMs'), 0)} | "
                    f"{fmt(t.get('steadyMBps'), 1)} |"
                )
        w("")
        raw = lab.get("rawComm")
        if raw:
            w(
                "The same kernel → browser path without the helper or the bridge: a plain comm in the same kernel "
                "answering each request with a numpy buffer (no conversion, no checksum):"
            )
            w("")
            w("| plain comm | MB | ms | MB/s |")
            w("| --- | ---: | ---: | ---: |")
            for r in raw:
                w(f"| {r['label']} | {r['received'] / 1e6:.1f} | {r['ms']:,.0f} | {r['mbPerS']:.1f} |")
            w("")
        elif lab.get("rawCommError"):
            w(f"Plain comm baseline: {NOT_MEASURED}: {lab['rawCommError']}.")
            w("")
        crc_b = env_c.get("crcMBps")
        crc_k = report.get("kernelCrcMBps")
        if crc_b or crc_k:
            w(
                f"For attribution: CRC-32 in the browser (crc-32's `buf`, main thread, as the bridge checks each chunk) "
                f"runs at {fmt(crc_b, 0)} MB/s; zlib.crc32 in Python (the helper's checksum) at {fmt(crc_k, 0)} MB/s."
            )
            w("")

    # ---------------------------------------------------------------- (e)
    w("## e. Run to first region, through the real panel")
    w("")
    if not lab:
        w(f"{NOT_MEASURED}: the JupyterLab part did not run.")
    else:
        w(
            "Demo: the code of examples/digits_audit.ipynb executed in the kernel, the panel opened, then a click on "
            "`.jp-SpotlightPanel-run` with the panel's own selection and default settings (5 spotlights × 5,000 "
            "steps, backend auto), timed in the page from the click event to the first `.jp-SpotlightRegion` in the "
            "DOM (and to the next frame), and to the panel's stage 'done' (all regions). Then the `run` command at "
            "the same settings gives the stage timings of the whole audit (it resolves when all spotlights are "
            "done). Target: first region < 3 s."
        )
        w("")
        dc = lab.get("demoClick")
        if dc:
            done = dc.get("clickToDoneMs")
            w(
                f"- Demo, click → first region: **{dc['clickToRegionMs'] / 1000:.2f} s** "
                f"(next frame {dc['clickToPaintMs'] / 1000:.2f} s); click → all {dc['regions']} regions done: "
                f"{fmt(done and done / 1000, 2)} s. Selection: {', '.join(lab.get('demoSelection') or [])}."
            )
        else:
            w(f"- Demo, click → first region: {NOT_MEASURED}: {lab.get('demoError', 'no result')}.")
        large = lab.get("large") or {}
        lc = large.get("click")
        if lc:
            w(
                f"- {size_label(large['n'], large['d'])} (kernel variables picked in the panel, default settings, "
                f"backend auto), click → first region: **{lc['clickToRegionMs'] / 1000:.1f} s** (then cancelled)."
            )
        elif large.get("clickError"):
            w(f"- {size_label(large['n'], large['d'])}, click → first region: {NOT_MEASURED}: {large['clickError']}.")
        w("")
        w("| audit | backend | fetchMs | searchMs | summaryMs | totalMs |")
        w("| --- | --- | ---: | ---: | ---: | ---: |")
        for key, name in (("demoRun", "demo 1,797 × 32, defaults (`run`, auto)"), ("demoRunCpu", "demo 1,797 × 32, defaults, backend cpu")):
            r = lab.get(key)
            if r:
                t = r["timings"]
                w(f"| {name} | {r['backend']} | {t['fetchMs']:,.0f} | {t['searchMs']:,.0f} | {t['summaryMs']:,.0f} | **{t['totalMs']:,.0f}** |")
        if large and len(large.get("runs", [])) >= 2:
            r1, r2 = large["runs"][0], large["runs"][-1]
            for r in (r1, r2):
                t = r["timings"]
                w(
                    f"| {size_label(large['n'], large['d'])}, count 1, {r['steps']} steps | {r['backend']} | {t['fetchMs']:,.0f} | "
                    f"{t['searchMs']:,.0f} | {t['summaryMs']:,.0f} | {t['totalMs']:,.0f} |"
                )
            per = (r2["timings"]["searchMs"] - r1["timings"]["searchMs"]) / (r2["steps"] - r1["steps"])
            fixed = r1["timings"]["searchMs"] - r1["steps"] * per
            if per <= 0 or fixed < 0:
                per = r2["timings"]["searchMs"] / r2["steps"]
                fixed = 0.0
            fetch = (r1["timings"]["fetchMs"] + r2["timings"]["fetchMs"]) / 2
            summary = max(r1["timings"]["summaryMs"], r2["timings"]["summaryMs"])
            first = fetch + fixed + T * per
            total = fetch + fixed + COUNT * T * per + summary
            w(
                f"| {size_label(large['n'], large['d'])}, defaults — **extrapolated** | {r2['backend']} | {fetch:,.0f} | "
                f"{fixed + COUNT * T * per:,.0f} | {summary:,.0f} | **{total:,.0f}** (≈ {total / 60000:.0f} min) |"
            )
            w("")
            w(
                f"Extrapolation for {size_label(large['n'], large['d'])} at the defaults, from the two short runs: "
                f"{per:.1f} ms per step (difference of their searchMs), {fixed:,.0f} ms of setup; the first region "
                f"after ≈ fetch + setup + {T:,} steps = **{first / 1000:.0f} s**, the whole audit (5 × {T:,} steps "
                "+ summary) as in the table; the per-spotlight overhead of spotlights 2–5 (loss upload, final "
                "weights) is left out, so both are slight underestimates. These runs used the panel's backend 'auto'."
            )
        elif lab.get("largeError"):
            w(f"| 200,000 × 128 | {NOT_MEASURED}: {lab['largeError']} | | | | |")
        w("")

    # ---------------------------------------------------------------- (f)
    w("## f. Peak browser memory of a 1,000,000 × 128 audit")
    w("")
    mems = (lab or {}).get("memory") or []
    if isinstance(mems, dict):
        mems = [mems]
    if not mems:
        w(f"{NOT_MEASURED}: {(lab or {}).get('memoryError', 'the JupyterLab part did not run')}.")
        w("")
    else:
        m0 = mems[0]
        w(
            f"For each backend, a fresh page (a new renderer process) opens the notebook whose kernel holds "
            f"{size_label(m0['n'], m0['d'])} float32 embeddings ({m0['n'] * m0['d'] * 4 / 1e6:,.0f} MB) and losses, "
            f"then `run` with count 1 and {m0['steps']} steps (reduced: the memory peak comes from the fetched arrays "
            "and the backend's copies of X, not from the number of steps). The renderer's RSS is sampled every "
            "100 ms and its VmHWM (peak RSS) read at the end; the JS heap (CDP Performance.getMetrics "
            "JSHeapUsedSize) excludes ArrayBuffers and WASM memory."
        )
        w("")
        mib = lambda b: f"{b / 2**20:,.0f} MiB" if b else "—"  # noqa: E731
        w("| backend requested | outcome | renderer baseline | **renderer peak RSS** | all chromium, peak | JS heap baseline → peak | sampled |")
        w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for mem in mems:
            run = mem.get("run") or {}
            t = run.get("timings") or {}
            outcome = (
                f"**failed**: {mem['error']}"
                if mem.get("error")
                else f"ran on {run.get('backend')}: fetch {t.get('fetchMs', 0):,.0f} ms, search {t.get('searchMs', 0):,.0f} ms, summary {t.get('summaryMs', 0):,.0f} ms"
            )
            peak = max(mem["peakRendererHwm"], mem["peakRendererRssSampled"])
            w(
                f"| {mem.get('requested', 'auto')} | {outcome} | {mib(mem['baselineRendererRss'])} | **{mib(peak)}** | "
                f"{mib(mem['peakChromiumRssSampled'])} | {mib(mem['baselineHeapUsed'])} → {mib(mem['peakHeapUsedSampled'])} | "
                f"{mem.get('durationMs', 0) / 1000:.0f} s |"
            )
        w("")

    # ---------------------------------------------------------------- targets
    w("## Targets (issue 7) against this run")
    w("")
    w("| target | measured | verdict |")
    w("| --- | --- | --- |")
    r = next((x for x in plain_rows if x["platform"] == "Chromium" and x.get("requested") == "wasm" and x["n"] == 50000 and x["d"] == 512 and x.get("ok")), None)
    npd, np1 = numpy_row(report, 50000, 512), numpy_row(report, 50000, 512, "1")
    if r and (npd or np1):
        ps, _ = per_spotlight_ms(r)
        rd = ps / numpy_spotlight_ms(npd) if npd else None
        r1 = ps / numpy_spotlight_ms(np1) if np1 else None
        ratio = max(x for x in (rd, r1) if x is not None)
        w(
            f"| wasm at 50,000 × 512: time per spotlight ≤ 1.0× numpy (stretch ≤ 0.5×) | Chromium wasm {secs(ps):.1f} s: "
            f"**{ratio:.2f}×** the faster numpy ({fmt(rd, 2)}× numpy with default threads, {fmt(r1, 2)}× numpy on 1 thread) | "
            f"{'met' if ratio <= 1 else 'missed'}{' (stretch met)' if ratio <= 0.5 else ''} |"
        )
    else:
        w(f"| wasm at 50,000 × 512 ≤ 1.0× numpy | {NOT_MEASURED} | — |")
    if r and copy:
        b, _ = x_bytes(r)
        if b:
            g = b / (r["meanStepMs"] / 1000) / 1e9
            w(
                f"| effective bandwidth ≥ 50 % of single-thread copy (unpruned passes) | Chromium wasm 50,000 × 512: {g:.2f} GB/s "
                f"of {copy:.1f} GB/s = **{100 * g / copy:.0f} %** | {'met' if g >= 0.5 * copy else 'missed'} |"
            )
    pruned = next((x for x in plain_rows if x["platform"] == "Chromium" and x.get("requested") == "cpu" and x["n"] == 50000 and x["d"] == 512 and x.get("ok")), None)
    unpruned = next((x for x in main_rows if x.get("variant") == "unpruned" and x["n"] == 50000 and x["d"] == 512 and x.get("ok")), None)
    bp = x_bytes(pruned)[0] if pruned else None
    bu = x_bytes(unpruned)[0] if unpruned else None
    if bp and bu and engine_stats(pruned) and engine_stats(pruned).get("pruning"):
        tp, _ = per_spotlight_ms(pruned)
        tu, _ = per_spotlight_ms(unpruned)
        w(
            f"| exact shell evaluation reads ≥ 3× fewer bytes at 50,000 × 512 | Chromium cpu, T = {pruned['steps']:,}: "
            f"{bp / 1e6:.1f} MB/step vs {bu / 1e6:.1f} MB/step unpruned = **{bu / bp:.1f}× fewer**; time per spotlight "
            f"{secs(tp):.1f} s vs {secs(tu):.1f} s | {'met' if bu / bp >= 3 else 'missed'} |"
        )
    else:
        w(
            f"| exact shell evaluation reads ≥ 3× fewer bytes at 50,000 × 512 | {NOT_MEASURED}: "
            + ("the engine reports no pruning counters" if not (pruned and engine_stats(pruned)) else "the pruned and unpruned runs are not both there")
            + " | — |"
        )
    tr = [t for t in (lab or {}).get("transfer", []) if not t.get("error") and not t.get("forcedComm")]
    if tr:
        best = max(t["mbPerS"] for t in tr)
        worst = min(t["mbPerS"] for t in tr)
        w(f"| transfer ≥ 150 MB/s | {worst:.0f}–{best:.0f} MB/s | {'met' if worst >= 150 else 'missed'} |")
    else:
        w(f"| transfer ≥ 150 MB/s | {NOT_MEASURED} | — |")
    dc = (lab or {}).get("demoClick")
    if dc:
        w(f"| demo: first region < 3 s after Run | {dc['clickToRegionMs'] / 1000:.2f} s | {'met' if dc['clickToRegionMs'] < 3000 else 'missed'} |")
    else:
        w(f"| demo: first region < 3 s after Run | {NOT_MEASURED} | — |")
    w("")
    peak_load = max((la[0] for _, la in loads), default=0)
    cores = m.get("cores") or 2
    if peak_load > cores:
        w(
            f"The 1-minute load average reached {peak_load:.1f} on {cores} cores during this run (other work on the "
            "shared machine): the phases ran at different loads, so ratios between them are indicative only. "
            "numpy's faster pass is used to keep the comparison conservative."
        )
        w("")
    logs = ((report.get("chromium") or {}).get("log") or [])[:5]
    if logs:
        w("Browser console messages during the engine runs (first 5): " + "; ".join(f"`{x[:160]}`" for x in logs))
        w("")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    data = json.loads((here / "results.json").read_text())
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "RESULTS.md"
    target.write_text(render(data))
    print(f"wrote {target}")

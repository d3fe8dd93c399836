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
TARGET_SIZE = (50000, 512)  # the targets are stated at this size
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
    """The engine's own work counters of the timed spotlight
    (`spotlights[0].stats`: pruning, steps, rowsRead, bytesRead, fullPasses)."""
    stats = r.get("stats") or (r.get("extra") or {}).get("spotlight.stats")
    return stats if isinstance(stats, dict) and stats.get("steps") else None


def x_bytes(r):
    """Bytes of X read per step, from the engine's counters (None without them)."""
    stats = engine_stats(r)
    if stats and stats.get("bytesRead") is not None:
        return stats["bytesRead"] / stats["steps"]
    return None


def pruning_off(r):
    return r.get("pruningRequested") is False


def label(r):
    """'Chromium cpu', with '(pruning off)' for the unpruned runs."""
    name = f"{r['platform']} {r.get('requested') or r.get('backend')}"
    if pruning_off(r):
        name += " (pruning off)"
    return name


# The engine's columns, in table order: (platform, backend requested, pruning off).
COLUMNS = [
    ("Node", "wasm", False),
    ("Node", "cpu", False),
    ("Chromium", "webgl", False),
    ("Chromium", "wasm", False),
    ("Chromium", "cpu", False),
    ("Chromium", "wasm", True),
    ("Chromium", "cpu", True),
]


def column_label(col):
    platform, backend, off = col
    return f"{platform} {backend}" + (" (pruning off)" if off else "")


def column_of(r):
    return (r["platform"], r.get("requested"), pruning_off(r))


def find_run(rows, col, n, d):
    return next((x for x in rows if column_of(x) == col and x["n"] == n and x["d"] == d), None)


def ok_run(rows, col, n, d):
    r = find_run(rows, col, n, d)
    return r if r and r.get("ok") else None


def kernel_rows(report):
    """The direct kernel timings (Node first, then Chromium)."""
    rows = []
    for platform in ("node", "chromium"):
        for r in (report.get(platform) or {}).get("kernels", []):
            rows.append(dict(r, platform="Node" if platform == "node" else "Chromium"))
    return rows


def kernel_gbps(k):
    """Effective GB/s of a direct kernel timing: bytes of X per call / mean ms per call."""
    return k["bytesPerCall"] / (k["meanMs"] / 1000) / 1e9 if k.get("ok") and k.get("meanMs") else None


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
    w(
        f"| tfjs (webgl backend) / assemblyscript (wasm kernel) | {v.get('@tensorflow/tfjs', '?')} / "
        f"{v.get('assemblyscript', '?')} |"
    )
    w(f"| python / numpy / BLAS | {v.get('python', '?')} / {v.get('numpy', '?')} / {v.get('blas', '?')} |")
    w(f"| jupyterlab / playwright-core / esbuild | {v.get('jupyterlab', '?')} / {v.get('playwright-core', '?')} / {v.get('esbuild', '?')} |")
    dirty = v.get("dirty") or []
    w(
        f"| engine source | commit {v.get('commit', '?')}"
        + (f" with uncommitted changes in {', '.join(dirty)}" if dirty else "")
        + "; tables a–c bundle src/spotlight (and the wasm kernel compiled from assembly/) as they were at the run; "
        + f"tables d–f use the installed labextension (built {v.get('labextensionBuilt', '?')}) |"
    )
    env_c = (report.get("chromium") or {}).get("env") or {}
    env_n = (report.get("node") or {}).get("env") or {}
    webgl = env_c.get("webgl")
    if isinstance(webgl, dict):
        w(f"| WebGL renderer | {webgl.get('renderer')} (software: {webgl.get('software')}) |")
    def simd(env):
        if env.get("wasmSimd") is None:
            return "not checked"
        return "yes" if env.get("wasmSimd") else f"no ({env.get('wasmError', '?')})"

    w(
        f"| WASM SIMD (our kernel compiles) | Chromium: {simd(env_c)}; Node: {simd(env_n)}; "
        "the kernel is single-threaded |"
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
    kernels = kernel_rows(report)
    budgets = report.get("budgets") or {}
    pruned_steps = budgets.get("prunedSteps", T)
    sizes = []
    for r in main_rows + report.get("numpy", []) + kernels:
        if (r["n"], r["d"]) not in sizes:
            sizes.append((r["n"], r["d"]))
    sizes.sort(key=lambda s: s[0] * s[1])
    copy = bw.get("copyGBps")
    read = bw.get("readGBps")

    # ---------------------------------------------------------------- (a)
    w("## a. Engine time per step and per spotlight")
    w("")
    w(
        "Paper defaults (lr 0.01, patience 10, S = 2 % of N), one spotlight per timed run (`findSpotlights`, count 1). "
        "Backends: **wasm** = our WebAssembly SIMD kernel (`WasmKernel`, float32, X stored as rows padded to "
        "P = ⌈D/16⌉·16 values, each row read once per pass); **cpu** = plain JavaScript, float64 (`HostKernel`); "
        "both use exact shell evaluation by default (engine option `pruning`: after a full pass only the rows "
        "near the sphere's boundary are read until the centre or radius leaves a margin); **webgl** = tfjs's WebGL "
        "backend (`TensorKernel`), here on SwiftShader, a software renderer (`auto` would not pick it). "
        "'(pruning off)' = the same backend with `pruning: false` (every step one full pass). "
        + (
            f"Runs with pruning (their cost depends on the trajectory) run the real k = {T:,} steps: their time per "
            "spotlight is *measured*. "
            if pruned_steps >= T
            else f"Runs with pruning run k = {pruned_steps:,} steps (quick run; the full run takes the real {T:,}). "
        )
        + "webgl and the pruning-off runs have a time budget — k ≤ "
        f"{T:,} steps, the whole barrier schedule compressed into k steps, k chosen from a short probe so that the "
        f"steps take about {budgets.get('engineMs', 8000) / 1000:.0f} s (wasm with pruning off: "
        f"{budgets.get('wasmOffMs', 25000) / 1000:.0f} s) — and **their T = {T:,} time per spotlight is extrapolated** "
        f"(measured spotlight time − k × mean step + {T:,} × mean step) unless marked *measured*. "
        "Mean step = wall time between the ends of steps (after a 10 % warm-up), so it includes the engine's host "
        "work (objective, Adam), progress callbacks and event-loop yields (Chromium's clock has a 0.1 ms "
        "resolution, so its medians of fast steps can read 0.00); `moments()` = time inside the kernel's "
        "pass over X (incl. the WebGL read-back). Setup = backend selection, ‖x‖², copying X into the backend "
        "(WASM memory, a WebGL texture) and compilation before step 1."
    )
    w("")
    w(
        "| N × D | where | backend | k timed | setup (ms) | mean ms/step | median ms/step | moments() ms/step | "
        f"per spotlight, T = {T} (s) | search of {COUNT} (s) |"
    )
    w("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, d in sizes:
        for col in COLUMNS:
            r = find_run(main_rows, col, n, d)
            if not r:
                continue
            name = column_label(col).split(" ", 1)[1]
            if not r.get("ok"):
                w(f"| {size_label(n, d)} | {col[0]} | {name} | {NOT_MEASURED}: {r.get('error', '?')} | | | | | | |")
                continue
            ps, measured = per_spotlight_ms(r)
            kms = sum((r.get("kernelMs") or {}).values()) / r["steps"]
            w(
                f"| {size_label(n, d)} | {col[0]} | {name} | {r['steps']:,} | {fmt(r['setupMs'], 0)} | "
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
            y = [r["meanStepMs"] for r in pairs if r.get("requested") == backend and r["variant"] == "yield"]
            ny = [r["meanStepMs"] for r in pairs if r.get("requested") == backend and r["variant"] == "no-yield"]
            if y and ny:
                a, b = sum(y) / len(y), sum(ny) / len(ny)
                w(
                    f"| {size_label(pairs[0]['n'], pairs[0]['d'])} | {backend} | {fmt(a, 3)} ({', '.join(fmt(x, 3) for x in y)}) | "
                    f"{fmt(b, 3)} ({', '.join(fmt(x, 3) for x in ny)}) | {100 * (a / b - 1):.0f} % |"
                )
        w("")

    # ---------------------------------------------------------------- (b)
    w("## b. numpy (float32, two matrix-vector products per step) and the ratio engine / numpy")
    w("")
    w(
        "`spotlight_numpy.py`: the same method, written as a numpy user would (BLAS `sgemv` for Xμ and Xᵀg, "
        "analytic gradient, Adam and the plateau rule on the host; every step reads X twice, no pruning), timed "
        f"like the engine (k steps of a compressed schedule, T = {T:,} extrapolated), in two passes: before and "
        "after the engine runs; the ms/step columns show the faster pass and, in brackets, the other; per-spotlight "
        "times and ratios use the faster pass, so that a load spike cannot flatter the engine. 'default' = numpy's "
        "own BLAS threads, '1 thread' = OPENBLAS_NUM_THREADS=1 (on a loaded 2-core machine numpy's two BLAS threads "
        "can be slower than one). The engine is single-threaded on every backend but webgl. Ratio = engine time per "
        "spotlight (table a) / the **faster** numpy run's time per spotlight (the stricter comparison); < 1 means "
        "the engine is faster. † = the engine's time is extrapolated from k < T steps; — = not run at this size."
    )
    w("")
    w(
        "| N × D | numpy ms/step (default) | per spotlight (s) | numpy ms/step (1 thread) | per spotlight (s) | "
        + " | ".join(column_label(c) for c in COLUMNS)
        + " |"
    )
    w("| --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in COLUMNS) + " |")
    for n, d in sizes:
        npd, np1 = numpy_row(report, n, d), numpy_row(report, n, d, "1")
        if not (npd or np1 or any(find_run(main_rows, c, n, d) for c in COLUMNS)):
            continue
        psd, ps1 = numpy_spotlight_ms(npd), numpy_spotlight_ms(np1)
        psb = numpy_spotlight_ms(best_numpy(report, n, d))
        cells = []
        for col in COLUMNS:
            r = find_run(main_rows, col, n, d)
            if not r:
                cells.append("—")
            elif not r.get("ok"):
                cells.append(NOT_MEASURED)
            elif not psb:
                cells.append("no numpy")
            else:
                ps, measured = per_spotlight_ms(r)
                cells.append(f"{ps / psb:.2f}×{'' if measured else ' †'}")
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
            (label(x), x) for col in COLUMNS for x in [ok_run(main_rows, col, n, d)] if x
        ]:
            if r:
                w(f"| {size_label(n, d)} | {name} | {r['steps']:,} | {r['totalWeight'] / r['size']:.3f} | {r['weightedLoss']:.4f} |")
    w("")

    # ---------------------------------------------------------------- (c)
    w("## c. Bytes read and effective bandwidth")
    w("")
    if bw:
        w(
            f"Memory bandwidth measured in the same run, one thread: numpy copy of {bw['bytes'] / 2**20:.0f} MiB "
            f"**{bw['copyGBps']:.1f} GB/s** (read + write bytes counted, as STREAM does; {bw['copyOneWayGBps']:.1f} GB/s "
            f"of source read), numpy float32 sum (read only) {bw['readGBps']:.1f} GB/s. '% of copy' = effective GB/s / "
            "copy GB/s; the issue's target for unpruned passes is ≥ 50 %."
        )
    else:
        w(f"Memory bandwidth: {NOT_MEASURED}.")
    w("")
    w("### c.1 The unpruned pass, timed directly")
    w("")
    if kernels:
        w(
            "Each kernel with pruning off, created once, then `moments()` in a loop at a fixed (μ, τ) — no optimiser, "
            f"no yields, three warm-up calls, then at least {budgets.get('kernelMinCalls', 10)} calls and about "
            f"{budgets.get('kernelMs', 1500) / 1000:.1f} s — "
            "with μ = x₀ and τ set so that about 7.5 % of the rows are inside the sphere (as near a spotlight's end; "
            "active rows cost more than inactive ones). Bytes of X per call from the kernel's own counters (`stats`: "
            "rows read × bytes per stored row): `WasmKernel` reads N rows of 4·P bytes (P = D rounded up to a multiple "
            "of 16), `HostKernel` N + min(#active, #inactive) rows of 4·D bytes (its second pass over the smaller of "
            "the two sets). Effective GB/s = bytes per call / mean ms per call. Sizes up to 10,000 × 64 (≤ 2.6 MB) "
            "fit in the L2/L3 caches: their GB/s are cache, not memory, numbers."
        )
        w("")
        w(
            "| N × D | where | kernel | rows active | calls | ms per moments(): mean (median) | MB of X per call | "
            "effective GB/s | % of copy | % of numpy read |"
        )
        w("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, d in sizes:
            for k in [x for x in kernels if x["n"] == n and x["d"] == d]:
                if not k.get("ok"):
                    w(f"| {size_label(n, d)} | {k['platform']} | {k.get('kernel', '?')} | {NOT_MEASURED}: {k.get('error')} | | | | | | |")
                    continue
                g = kernel_gbps(k)
                w(
                    f"| {size_label(n, d)} | {k['platform']} | `{k['kernel']}` | {100 * k['activeFraction']:.1f} % | "
                    f"{k['calls']:,} | {fmt(k['meanMs'], 2)} ({fmt(k['medianMs'], 2)}) | {k['bytesPerCall'] / 1e6:.1f} | "
                    f"{g:.2f} | {fmt(copy and 100 * g / copy, 0)} % | {fmt(read and 100 * g / read, 0)} % |"
                )
        w("")
    else:
        w(f"{NOT_MEASURED}: no direct kernel timings in this run.")
        w("")

    w("### c.2 Exact shell evaluation: bytes read per step")
    w("")
    w(
        "The default runs of table a (pruning on) against the same backend with pruning off, in Chromium, from the "
        "engine's counters (`spotlights[0].stats`): bytes of X read over the timed spotlight / its steps, and the "
        "full passes (pruned: the rescans). A pruned run's bytes depend on its trajectory, so it runs the real "
        f"{pruned_steps:,} steps; an unpruned run reads the same bytes every step on wasm (N rows of 4·P bytes) and "
        "nearly so on cpu (N + min(#active, #inactive) rows), so its budgeted k is enough. Target (50,000 × 512): "
        "≥ 3× fewer bytes."
    )
    w("")
    w(
        "| N × D | backend | k pruned | MB/step pruned | rescans (full passes) | k unpruned | MB/step unpruned | "
        "**× fewer bytes** | mean ms/step pruned / unpruned |"
    )
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    shell = {}
    for n, d in sizes:
        for backend in ("wasm", "cpu"):
            on = ok_run(main_rows, ("Chromium", backend, False), n, d)
            off = ok_run(main_rows, ("Chromium", backend, True), n, d)
            if not (on and off):
                continue
            bp, bu = x_bytes(on), x_bytes(off)
            st = engine_stats(on)
            if not (bp and bu and st):
                w(f"| {size_label(n, d)} | {backend} | {NOT_MEASURED}: the engine reported no counters | | | | | | |")
                continue
            if not st.get("pruning"):
                w(f"| {size_label(n, d)} | {backend} | {NOT_MEASURED}: the default run did not prune | | | | | | |")
                continue
            shell[(n, d, backend)] = (bu / bp, on, off)
            w(
                f"| {size_label(n, d)} | {backend} | {on['steps']:,} | {bp / 1e6:.1f} | {st['fullPasses']:,} | "
                f"{off['steps']:,} | {bu / 1e6:.1f} | **{bu / bp:.1f}×** | {fmt(on['meanStepMs'], 2)} / {fmt(off['meanStepMs'], 2)} |"
            )
    if not shell:
        w(f"| | {NOT_MEASURED}: no pair of pruned and unpruned runs | | | | | | | |")
    w("")

    w("### c.3 Every timed run: bytes per step and effective bandwidth")
    w("")
    w(
        "Bytes = bytes of X read per step (the small N-vectors are left out): the engine's counters "
        "(`stats.bytesRead / steps`: wasm N rows of 4·P bytes per full pass; cpu N + min(#active, #inactive) rows "
        "of 4·D; with pruning, the shell each step plus N rows per rescan; webgl 2N rows of 4·(D + 2) bytes, "
        "X̃ = [X | 1 | ‖x‖²] read twice); numpy 8·N·D (two sgemv). Effective GB/s = bytes / mean step time; "
        "'in moments()' = bytes / time inside the kernel. A pruned run reads few bytes, so its GB/s is low even "
        "when it is fast: compare its time (table a), not its GB/s."
    )
    w("")
    w("| N × D | implementation | MB read / step | effective GB/s | % of copy | in moments() GB/s | full passes / step |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for n, d in sizes:
        for name, r in (("numpy (default)", numpy_row(report, n, d)), ("numpy (1 thread)", numpy_row(report, n, d, "1"))):
            if r:
                b = 8 * n * d
                g = b / (r["meanStepMs"] / 1000) / 1e9
                w(f"| {size_label(n, d)} | {name} | {b / 1e6:.1f} | {g:.1f} | {fmt(copy and 100 * g / copy, 0)} % | | (2 reads of X) |")
        for col in COLUMNS:
            r = ok_run(main_rows, col, n, d)
            if not r:
                continue
            b = x_bytes(r)
            stats = engine_stats(r)
            passes = f"{stats['fullPasses'] / stats['steps']:.3g}" if stats else "—"
            if b is None:
                w(f"| {size_label(n, d)} | {label(r)} | {NOT_MEASURED}: no engine counters | | | | {passes} |")
                continue
            g = b / (r["meanStepMs"] / 1000) / 1e9
            kms = sum((r.get("kernelMs") or {}).values()) / r["steps"]
            gk = b / (kms / 1000) / 1e9 if kms > 0 else None
            w(
                f"| {size_label(n, d)} | {label(r)} | {b / 1e6:.1f} | {g:.2f} | {fmt(copy and 100 * g / copy, 0)} % | "
                f"{fmt(gk, 2)} | {passes} |"
            )
    w("")
    extras = [(r, r["extra"]) for r in main_rows if r.get("extra")]
    if extras:
        w("Fields the engine reported beyond the known result fields:")
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

    # ---------------------------------------------------------------- g. collapse guard
    import collapse

    if "collapse" in report:
        if report.get("collapseDate"):
            w(f"_Table g was measured on {report['collapseDate']} by `benchmarks/run.py --only g`, which "
              "re-renders this file with the earlier tables unchanged._")
            w("")
        for line in collapse.render(report["collapse"]):
            w(line)

    # ---------------------------------------------------------------- h. significance test
    sig = report.get("significance")
    if sig:
        w("## h. The permutation test's extra time")
        w("")
        if report.get("significanceDate"):
            w(f"_Measured on {report['significanceDate']} by `benchmarks/run.py --only h`._")
            w("")
        p = sig["permutations"]
        w(
            f"The test re-runs the search for one spotlight P times on permuted losses (P = {p}, the default). "
            "`node benchmarks/significance.js N D k`: the built engine in Node, backend wasm, planted Gaussian data, "
            "paper defaults (5,000 steps); the search for one spotlight, then k null searches timed and averaged. "
            "Extra time = P × the time of one null search (measured directly where k = P, else extrapolated from k)."
        )
        w("")
        w("| N × D | one spotlight (s) | one null search (s) | null searches timed | extra time at P = 49 |")
        w("| --- | --- | --- | --- | --- |")
        for r in sig["rows"]:
            extra = p * r["nullMs"] / 1000
            how = "measured" if r["nulls"] >= p else "extrapolated"
            w(
                f"| {r['n']:,} × {r['d']} | {r['searchMs'] / 1000:.2f} | {r['nullMs'] / 1000:.2f} | {r['nulls']} | "
                f"{extra:.1f} s ({extra / 60:.1f} min), {how} |"
            )
        w("")
        w(
            "The panel shows this estimate (P × the first spotlight's time) when the test starts, then the time left; "
            "the test runs after the regions are on screen and can be cancelled (the regions stay, untested). "
            "At 50,000 × 512 the test costs minutes: lower `permutations` (the smallest p-value is 1 / (P + 1)) or turn it off."
        )
        w("")

    # ---------------------------------------------------------------- i. components
    if report.get("pca"):
        import pca_planted

        if report.get("pcaDate"):
            w(f"_Measured on {report['pcaDate']} by `benchmarks/run.py --only i`._")
            w("")
        for line in pca_planted.render(report["pca"]):
            w(line)

    # ---------------------------------------------------------------- j, k. shards
    if report.get("shardScaling") or report.get("millionRows"):
        import shards

        for key, render_table in (("shardScaling", shards.render_j), ("millionRows", shards.render_k)):
            if report.get(f"{key}Date"):
                w(f"_Measured on {report[f'{key}Date']} by `benchmarks/run.py --only j,k`._")
                w("")
            for line in render_table(report.get(key)):
                w(line)

    # ---------------------------------------------------------------- l. responsiveness
    resp = report.get("responsiveness")
    if resp:
        for line in render_responsiveness(resp, report.get("responsivenessDate")):
            w(line)

    # ---------------------------------------------------------------- m. overview map
    if report.get("map"):
        m = report["map"]
        w("## m. Overview map")
        w("")
        if report.get("mapDate"):
            w(f"_Measured on {report['mapDate']} by `benchmarks/run.py --only m`._")
            w("")
        w(
            f"Every point drawn with regl-scatterplot (WebGL) at 1,280 × 800 in headless Chromium, as the audit view "
            f"draws them; planted N × {m['d']} embeddings (8 clusters). Projection: `projectAllRows` (PCA fitted on at "
            f"most 2,000 rows, applied to all N), on the page's thread; UMAP: `umapLayout` (umap-js on 2,000 evenly "
            f"spaced rows, 300 epochs, every other row at the kernel-weighted mean of its 10 nearest sampled rows), "
            f"timed up to 100,000 points. Frame time: the time between successive redraws "
            f"while the camera pans (then zooms) every frame, {m['frames']} frames each (median and 95th percentile)."
        )
        w("")
        w("| points | renderer | projection (PCA) | projection (UMAP) | first draw | pan: median / p95 per frame | zoom: median / p95 per frame |")
        w("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in m["rows"]:
            if not r.get("ok"):
                w(f"| {r['n']:,} | {r.get('renderer', '?')} | failed: {r.get('error', '?')} | | | | |")
                continue
            umap = "—" if r.get("umapMs") is None else f"{r['umapMs'] / 1000:.1f} s"
            w(
                f"| {r['n']:,} | {r['renderer']} | {r['projectionMs'] / 1000:.2f} s | {umap} | {r['drawMs'] / 1000:.2f} s | "
                f"{r['pan']['medianMs']:.1f} / {r['pan']['p95Ms']:.1f} ms | {r['zoom']['medianMs']:.1f} / {r['zoom']['p95Ms']:.1f} ms |"
            )
        w("")

    # ---------------------------------------------------------------- targets
    w("## Targets (issue 7) against this run")
    w("")
    w("| target | measured | verdict |")
    w("| --- | --- | --- |")
    tn, td = TARGET_SIZE
    at = size_label(tn, td)
    psb = numpy_spotlight_ms(best_numpy(report, tn, td))
    wasm_runs = [(p, ok_run(main_rows, (p, "wasm", False), tn, td)) for p in ("Chromium", "Node")]
    wasm_runs = [(p, r) for p, r in wasm_runs if r]
    if wasm_runs and psb:
        parts = []
        for p, r in wasm_runs:
            ps, measured = per_spotlight_ms(r)
            parts.append(
                f"{p} wasm {secs(ps):.1f} s{'' if measured else ' (extrapolated)'}: **{ps / psb:.2f}×**"
            )
        ratio = per_spotlight_ms(wasm_runs[0][1])[0] / psb
        w(
            f"| wasm at {at}: time per spotlight ≤ 1.0× numpy (stretch ≤ 0.5×) | {'; '.join(parts)} the faster numpy "
            f"run ({secs(psb):.1f} s) | {wasm_runs[0][0]}: {'met' if ratio <= 1 else 'missed'}"
            f"{' (stretch met)' if ratio <= 0.5 else ''} |"
        )
    else:
        w(f"| wasm at {at}: time per spotlight ≤ 1.0× numpy | {NOT_MEASURED} (no wasm or numpy run at this size) | — |")
    direct = [
        k for p in ("Chromium", "Node") for k in kernels
        if k.get("ok") and k["platform"] == p and k["kernel"] == "WasmKernel" and (k["n"], k["d"]) == TARGET_SIZE
    ]
    if direct and copy:
        parts = [f"{k['platform']} `WasmKernel` {kernel_gbps(k):.1f} GB/s = **{100 * kernel_gbps(k) / copy:.0f} %**" for k in direct]
        off = ok_run(main_rows, ("Chromium", "wasm", True), tn, td)
        step = ""
        if off and x_bytes(off):
            g = x_bytes(off) / (off["meanStepMs"] / 1000) / 1e9
            step = f"; a whole unpruned step (Chromium wasm, pruning off, table a) {g:.1f} GB/s = {100 * g / copy:.0f} %"
        g0 = kernel_gbps(direct[0])
        w(
            f"| effective bandwidth of unpruned passes ≥ 50 % of a single-thread copy | {at}, unpruned moments() "
            f"(c.1): {'; '.join(parts)} of the {copy:.1f} GB/s copy{step} | {direct[0]['platform']}: "
            f"{'met' if g0 >= 0.5 * copy else 'missed'} |"
        )
    else:
        w(f"| effective bandwidth of unpruned passes ≥ 50 % of copy | {NOT_MEASURED} (no direct wasm kernel timing at {at}) | — |")
    for backend in ("wasm", "cpu"):
        found = shell.get((tn, td, backend))
        if found:
            fewer, on, off = found
            tp, mp = per_spotlight_ms(on)
            tu, mu = per_spotlight_ms(off)
            w(
                f"| exact shell evaluation reads ≥ 3× fewer bytes at {at} ({backend}) | Chromium {backend}, k = {on['steps']:,}: "
                f"{x_bytes(on) / 1e6:.1f} MB/step vs {x_bytes(off) / 1e6:.1f} MB/step unpruned = **{fewer:.1f}× fewer**; "
                f"time per spotlight {secs(tp):.1f} s vs {secs(tu):.1f} s{'' if mu else ' (extrapolated)'} | "
                f"{'met' if fewer >= 3 else 'missed'} |"
            )
        else:
            w(
                f"| exact shell evaluation reads ≥ 3× fewer bytes at {at} ({backend}) | {NOT_MEASURED}: the pruned and "
                "unpruned Chromium runs are not both there with counters | — |"
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


def render_responsiveness(lab: dict, date: str | None) -> list[str]:
    """Table l: JupyterLab's main thread during an audit, and 1,000,000 × 768 through the panel."""
    out = ["## l. Main-thread responsiveness", ""]
    if date:
        out += [f"_Measured on {date} by `benchmarks/run.py --only l`._", ""]
    out += [
        "JupyterLab in headless Chromium, the audit started as **Find spotlights** starts it (the `run` command: "
        "the model's run on the chosen variables), planted embeddings made in the kernel (`datagen.planted`). "
        "Long tasks: `PerformanceObserver('longtask')` on the page from the start to the last region on screen. "
        "Click: a click on the file browser's tab in the left side bar, from the click event to the next frame "
        "(`requestAnimationFrame` then a task), five times before the run and every 2 s during it. "
        "The search, summaries, map and fingerprint run in a Web Worker (the coordinator) and the shards in "
        "their own workers; the page only renders.",
        "",
    ]
    demo = lab.get("demoClick")
    if demo:
        out += [
            f"Demo (1,797 × 32, 5 spotlights): first region **{demo['clickToRegionMs']:.0f} ms** after the click on "
            f"Find spotlights (painted {demo['clickToPaintMs']:.0f} ms), all done {fmt(demo.get('clickToDoneMs'), 0)} ms.",
            "",
        ]
    r = lab.get("responsiveness")
    if r:
        if r.get("error"):
            out += [f"{r['n']:,} × {r['d']}: failed — {r['error']}", ""]
        else:
            out += [
                "| audit | audit view (map) | backend | Find → last region | long tasks (total) | longest long task "
                "| click → frame before (max) | click → frame during: median / max (n) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for row in [r, r.get("viewOpen")]:
                if not row or "longestTaskMs" not in row:
                    continue
                during = row.get("during") or []
                before = row.get("before") or []
                out.append(
                    f"| {row['n']:,} × {row['d']}, {row['count']} spotlights × {row['steps']:,} steps | "
                    f"{row.get('auditView', 'open')} | {row.get('backend')} "
                    f"({(row.get('backendReason') or '').split(' · ')[-1]}) | {row['findToLastRegionMs'] / 1000:.1f} s | "
                    f"{row['longTasks']} ({row['longTaskTotalMs']:.0f} ms) | **{row['longestTaskMs']:.0f} ms** | "
                    f"{max(before) if before else '—'} ms | "
                    + (f"{sorted(during)[len(during) // 2]} / **{max(during)} ms** ({len(during)})" if during else "—")
                    + " |"
                )
            for row in [r, r.get("viewOpen")]:
                if row and row.get("longestTasks"):
                    tasks = ", ".join(
                        f"{t['ms']} ms at {t['atMs'] / 1000:.1f} s ({t['stage'] or 'no stage'})" for t in row["longestTasks"]
                    )
                    out.append("")
                    out.append(f"Longest long tasks, audit view {row.get('auditView', 'open')} (when after Find, the panel's stage): {tasks}.")
            out += [
                "",
                "The first run has the audit view closed: what the page itself does during an audit. The second has "
                "it open beside the notebook: its overview map (regl-scatterplot, WebGL) redraws the points as "
                "regions arrive, and on this machine WebGL is SwiftShader, a software renderer (table m: about "
                "0.3 s to draw 100,000 points), so its frames are long tasks here that a GPU draws in milliseconds.",
                "",
            ]
    m = lab.get("million")
    if m:
        out += ["### l.2 A large float32 audit through the panel (1,000,000 × 768 in the full run)", ""]
        if m.get("error") or not m.get("run"):
            out += [f"{m['n']:,} × {m['d']}: failed — {m.get('error')}", ""]
        else:
            t = m["run"]["timings"]
            out += [
                "| N × D | workers | backend | fetch | search | ms per step | summaries | total | renderer peak RSS (page + workers) | page JS heap peak |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
                f"| {m['n']:,} × {m['d']} ({m['n'] * m['d'] * 4 / 1e9:.1f} GB), 1 spotlight × {m['steps']} steps | "
                f"{m['workers']} | {m['run']['backend']} | {t['fetchMs'] / 1000:.1f} s | {t['searchMs'] / 1000:.1f} s | "
                f"{m['msPerStep']:.1f} | {t['summaryMs'] / 1000:.1f} s | {t['totalMs'] / 1000:.1f} s | "
                f"{m['peakRendererRss'] / 2 ** 30:.2f} GiB | {m['peakPageHeapUsed'] / 2 ** 20:.0f} MiB |",
                "",
                "Dedicated Web Workers are threads of the page's renderer process: its peak RSS covers the page, "
                "the audit worker (which keeps X for the summaries) and the shards (X again, in WASM memory). "
                "The page's JS heap shows that the page itself keeps no copy of X.",
                "",
            ]
    return out


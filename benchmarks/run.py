#!/usr/bin/env python3
"""Run every benchmark once and write benchmarks/RESULTS.md (``make bench``).

Phases, in one run:
  1. set-up: ``npm ci`` in benchmarks/ (esbuild) when needed, compile the
     wasm backend's kernel and bundle the engine harness from the current
     src/spotlight (build.mjs), generate the data;
  2. memory bandwidth: a large single-thread numpy copy (and a read);
  3. numpy: the float32 numpy implementation (spotlight_numpy.py), with
     numpy's default threads and with one BLAS thread;
  4. the engine in Node (wasm, cpu) and in headless Chromium (webgl, wasm,
     cpu, and wasm and cpu with pruning off on the large sizes):
     engine/harness.ts through build/engine-*.js; the wasm and cpu kernels'
     unpruned pass timed directly in both;
  5. the real extension in JupyterLab (lab.mjs): demo run-to-first-region,
     200,000 × 128, transfer 50 / 500 MB, memory of a 1,000,000 × 128 audit;
  6. RESULTS.md (raw JSON beside it in results.json).

Usage: .venv/bin/python benchmarks/run.py [--quick] [--skip-lab] [--skip-engine] [--transfer-only]

``--transfer-only`` runs only table d (kernel → browser transfer, 50 and 500 MB,
plus the plain-comm baseline) and writes RESULTS-transfer.md and
results-transfer.json, leaving the full run's files alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

SIZES = [(1797, 64), (10000, 64), (50000, 256), (50000, 512), (200000, 128)]
QUICK_SIZES = [(1797, 64), (10000, 64)]
T = 5000  # the paper's steps per spotlight
COUNT = 5  # the paper's spotlights per search
LOAD: list[tuple[str, tuple[float, float, float]]] = []
# A plain comm, for attribution of the transfer rate (lab.mjs).
RAW_COMM = [
    {"label": "25 × 4 MiB, 3 in flight", "bytes": 4 * 2**20, "count": 25, "inFlight": 3},
    {"label": "25 × 4 MiB, 1 in flight", "bytes": 4 * 2**20, "count": 25, "inFlight": 1},
    {"label": "6 × 16 MiB, 3 in flight", "bytes": 16 * 2**20, "count": 6, "inFlight": 3},
    {"label": "1 × 48 MiB", "bytes": 48 * 2**20, "count": 1, "inFlight": 1},
]


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def mark_load(phase: str) -> None:
    LOAD.append((phase, os.getloadavg()))


def _rel(path: str) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return os.path.relpath(os.path.abspath(path), REPO) if os.path.abspath(path).startswith(str(REPO) + os.sep) else path
    except ValueError:
        return path


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


# --------------------------------------------------------------------------
# Machine and versions


def machine_info() -> dict:
    info: dict = {"platform": platform.platform()}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", cpu, re.M)
        info["cpu"] = m.group(1).strip() if m else platform.processor()
        flags = re.search(r"^flags\s*:\s*(.+)$", cpu, re.M)
        if flags:
            have = set(flags.group(1).split())
            info["simd"] = " ".join(f for f in ("sse4_2", "avx2", "fma", "avx512f") if f in have)
    except OSError:
        info["cpu"] = platform.processor()
    info["cores"] = os.cpu_count()
    try:
        mem = Path("/proc/meminfo").read_text()
        info["memGiB"] = int(re.search(r"MemTotal:\s+(\d+)", mem).group(1)) / 2**20
    except (OSError, AttributeError):
        pass
    try:
        caches = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for key in ("L2 cache", "L3 cache", "Hypervisor vendor"):
            m = re.search(rf"^{key}:\s*(.+)$", caches, re.M)
            if m:
                info[key] = m.group(1).strip()
    except OSError:
        pass
    return info


def versions() -> dict:
    import numpy as np

    v = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        v["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 (older numpy)
        v["blas"] = "?"
    v["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    v["chromium"] = subprocess.run(
        [chromium, "--version"], capture_output=True, text=True
    ).stdout.strip()
    for pkg in ("@tensorflow/tfjs", "assemblyscript"):
        try:
            v[pkg] = json.loads((REPO / "node_modules" / pkg / "package.json").read_text())["version"]
        except OSError:
            v[pkg] = "?"
    try:
        import jupyterlab

        v["jupyterlab"] = jupyterlab.__version__
    except ImportError:
        v["jupyterlab"] = "?"
    try:
        v["esbuild"] = json.loads((HERE / "node_modules" / "esbuild" / "package.json").read_text())["version"]
    except OSError:
        v["esbuild"] = "?"
    try:
        v["playwright-core"] = json.loads(
            (REPO / "ui-tests" / "node_modules" / "playwright-core" / "package.json").read_text()
        )["version"]
    except OSError:
        v["playwright-core"] = "?"
    git = lambda *a: subprocess.run(  # noqa: E731
        ["git", *a], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    v["commit"] = git("rev-parse", "--short", "HEAD")
    # Not stripped: each porcelain line is 'XY path', X possibly a space.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src/spotlight", "assembly", "src/kernel", "src/model.ts",
         "jupyterlab_spotlight"],
        cwd=REPO, capture_output=True, text=True,
    ).stdout
    v["dirty"] = [line[3:] for line in dirty.splitlines() if line.strip()]
    remote = sorted((REPO / "jupyterlab_spotlight" / "labextension" / "static").glob("remoteEntry.*.js"))
    if remote:
        v["labextensionBuilt"] = dt.datetime.fromtimestamp(remote[-1].stat().st_mtime).strftime(
            "%Y-%m-%d %H:%M"
        )
    return v


# --------------------------------------------------------------------------
# Memory bandwidth and numpy


def bandwidth(megabytes: int = 512, repeats: int = 5) -> dict:
    """Single-thread copy (STREAM convention: read + write bytes) and read."""
    import numpy as np

    a = np.arange(megabytes * 2**20 // 4, dtype=np.float32)
    b = np.empty_like(a)
    np.copyto(b, a)
    copy = min(_timed(lambda: np.copyto(b, a)) for _ in range(repeats))
    read = min(_timed(lambda: a.sum()) for _ in range(repeats))
    nbytes = a.nbytes
    out = {
        "bytes": nbytes,
        "copyGBps": 2 * nbytes / copy / 1e9,
        "copyOneWayGBps": nbytes / copy / 1e9,
        "readGBps": nbytes / read / 1e9,
    }
    del a, b
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def numpy_worker(plan_path: str, out_path: str) -> None:
    """Time spotlight_numpy on each size (run in a subprocess, so that the
    BLAS thread count can be set before numpy is imported)."""
    import numpy as np

    import spotlight_numpy

    plan = json.loads(Path(plan_path).read_text())
    results = []
    for case in plan["cases"]:
        n, d = case["n"], case["d"]
        x = np.fromfile(case["x"], dtype=np.float32).reshape(n, d)
        loss = np.fromfile(case["loss"], dtype=np.float32)
        t0 = time.perf_counter()
        search = spotlight_numpy.Search(x, loss)
        setup_ms = (time.perf_counter() - t0) * 1000
        search.spotlight(steps=5)  # warm-up
        probe = search.spotlight(steps=20)
        per = probe["timeMs"] / 20
        k = int(min(case.get("maxSteps", T), max(case.get("minSteps", 50), case["budgetMs"] / per)))
        stamps = [0.0] * k
        clock = time.perf_counter

        def on_step(t, stamps=stamps, clock=clock):
            stamps[t] = clock()

        result = search.spotlight(steps=k, on_step=on_step)
        warm = min(max(2, k // 10), k - 3)
        mean = (stamps[k - 1] - stamps[warm]) / (k - 1 - warm) * 1000
        diffs = sorted(stamps[t] - stamps[t - 1] for t in range(warm + 1, k))
        results.append(
            {
                "n": n,
                "d": d,
                "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                "steps": k,
                "setupMs": setup_ms,
                "meanStepMs": mean,
                "medianStepMs": diffs[len(diffs) // 2] * 1000,
                "spotlightMs": result["timeMs"],
                "totalWeight": result["totalWeight"],
                "weightedLoss": result["weightedLoss"],
                "size": search.size,
                "startAdjusted": search.start_adjusted,
            }
        )
        print(f"  numpy[{results[-1]['threads']}] {n}x{d}: {k} steps, {mean:.2f} ms/step", flush=True)
        if case.get("float64Check") and "OPENBLAS_NUM_THREADS" not in os.environ and not Path(out_path).name.startswith("numpy-2"):
            # The same method in float64, to check it against the engine's
            # float64 host kernel (cpu backend) at T steps.
            r64 = spotlight_numpy.Search(x, loss, dtype=np.float64).spotlight(steps=T)
            results.append(
                {
                    "n": n,
                    "d": d,
                    "threads": "float64 check",
                    "steps": T,
                    "meanStepMs": r64["timeMs"] / T,
                    "medianStepMs": r64["timeMs"] / T,
                    "spotlightMs": r64["timeMs"],
                    "totalWeight": r64["totalWeight"],
                    "weightedLoss": r64["weightedLoss"],
                    "size": search.size,
                    "startAdjusted": search.start_adjusted,
                }
            )
        Path(out_path).write_text(json.dumps({"results": results}, indent=1))
    Path(out_path).write_text(json.dumps({"results": results}, indent=1))


# --------------------------------------------------------------------------
# JupyterLab


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_phase(work: Path, plan: dict, out_path: Path) -> dict:
    root = work / "lab-root"
    (root / "examples").mkdir(parents=True, exist_ok=True)
    demo = REPO / "examples" / "digits_audit.ipynb"
    shutil.copy(demo, root / "examples" / demo.name)
    cells = [
        "".join(c["source"])
        for c in json.loads(demo.read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    port = free_port()
    env = dict(os.environ, SPOTLIGHT_BENCH_ROOT=str(root), SPOTLIGHT_BENCH_PORT=str(port))
    jupyter = Path(sys.executable).parent / "jupyter"
    log = open(work / "jupyter.log", "w")
    server = subprocess.Popen(
        [str(jupyter), "lab", "--config", str(HERE / "jupyter_bench_config.py")],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({server.returncode}); see {work / 'jupyter.log'}")
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not start in 120 s")
        config = {
            "base": base,
            "notebook": "examples/digits_audit.ipynb",
            "benchDir": str(HERE),
            "demoCells": cells,
            "plan": plan,
        }
        (work / "lab-config.json").write_text(json.dumps(config))
        subprocess.run(
            ["node", str(HERE / "lab.mjs"), str(work / "lab-config.json"), str(out_path)],
            check=False,
            timeout=1500,
        )
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
    return json.loads(out_path.read_text()) if out_path.exists() else {"error": "lab.mjs wrote nothing"}


# --------------------------------------------------------------------------
# Main


SIGNIFICANCE_SIZES = [(1797, 32, 49), (50000, 512, 2)]


def significance_phase() -> dict:
    """Table h: the permutation test's extra time (node benchmarks/significance.js per size)."""
    rows = []
    for n, d, nulls in SIGNIFICANCE_SIZES:
        say(f"significance test: {n:,} × {d}, {nulls} null searches")
        out = run(["node", str(HERE / "significance.js"), str(n), str(d), str(nulls)], capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"rows": rows, "permutations": 49}


# Table l: JupyterLab's main thread during a 100,000 × 768 audit (5 spotlights,
# paper defaults), then a 1,000,000 × 768 float32 audit through the panel (one
# spotlight, 200 steps, 2 search workers so that each shard fits WASM memory).
RESPONSIVENESS_PLAN = {
    "responsiveness": {"n": 100000, "d": 768, "count": 5, "steps": 5000, "workers": 0},
    "million": {"n": 1000000, "d": 768, "steps": 200, "workers": 2},
}
# The same at small sizes (a smoke test of the measurement, not a result).
RESPONSIVENESS_QUICK = {
    "responsiveness": {"n": 5000, "d": 64, "count": 2, "steps": 400, "workers": 0},
    "million": {"n": 20000, "d": 64, "steps": 20, "workers": 2},
}


def only_tables(tables: list[str], out_md: Path, sizes: dict | None = None, quick: bool = False) -> int:
    """Run some of tables g–l and re-render the report with the other tables of results.json.

    ``sizes``: (N, D) for tables j and k, to run them smaller (a smoke test); ``quick``: table l at small
    sizes (a smoke test of the measurement, not a result).
    """
    sizes = sizes or {}
    import collapse
    import report as report_module

    out_json = HERE / "results.json"
    report = json.loads(out_json.read_text())
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    if "g" in tables:
        say("collapse guard: 20 planted-digit audits, unguarded and guarded")
        with tempfile.TemporaryDirectory(prefix="spotlight-collapse-") as tmp:
            report["collapse"] = collapse.collapse_phase(Path(tmp))
        report["collapseDate"] = now
    if "h" in tables:
        report["significance"] = significance_phase()
        report["significanceDate"] = now
    if "i" in tables:
        import pca_planted

        say("components: planted 100,000 × 768, raw and on the top 32 principal components")
        with tempfile.TemporaryDirectory(prefix="spotlight-pca-") as tmp:
            report["pca"] = pca_planted.pca_phase(Path(tmp))
        report["pcaDate"] = now
    if "j" in tables or "k" in tables:
        import shards

        jn, jd = sizes.get("j", (50_000, 512))
        kn, kd = sizes.get("k", (1_000_000, 768))
        with tempfile.TemporaryDirectory(prefix="spotlight-shards-") as tmp:
            if "j" in tables:
                say(f"sharded engine scaling: {jn:,} × {jd}, 1/2(/4/8) worker threads and numpy")
                report["shardScaling"] = shards.scaling_phase(Path(tmp), jn, jd)
                report["shardScalingDate"] = now
            if "k" in tables:
                say(f"a million rows: {kn:,} × {kd} float32 .npy, the command line with its default threads")
                report["millionRows"] = shards.million_phase(Path(tmp), kn, kd)
                report["millionRowsDate"] = now
    if "l" in tables:
        plan = RESPONSIVENESS_QUICK if quick else RESPONSIVENESS_PLAN
        say("JupyterLab: demo, main-thread responsiveness during an audit, 1,000,000 × 768 through the panel")
        with tempfile.TemporaryDirectory(prefix="spotlight-lab-l-") as tmp:
            report["responsiveness"] = lab_phase(Path(tmp), plan, Path(tmp) / "lab.json")
        report["responsivenessPlan"] = plan
        report["responsivenessDate"] = now + (" (--quick: small sizes)" if quick else "")
    out_json.write_text(json.dumps(report, indent=1, default=str))
    out_md.write_text(report_module.render(report))
    prettier = REPO / "node_modules" / ".bin" / "prettier"
    if prettier.exists():
        subprocess.run([str(prettier), "--write", "--log-level", "warn", str(out_md), str(out_json)], check=False)
    say(f"wrote {out_md}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two small sizes, short budgets (a smoke test)")
    parser.add_argument("--skip-lab", action="store_true", help="skip the JupyterLab part (d–f)")
    parser.add_argument("--skip-engine", action="store_true", help="skip the engine and numpy part (a–c)")
    parser.add_argument(
        "--transfer-only", action="store_true",
        help="only table d (transfer); writes RESULTS-transfer.md and results-transfer.json",
    )
    parser.add_argument("--skip-collapse", action="store_true", help="skip table g (the collapse guard)")
    parser.add_argument(
        "--only", default=None, metavar="TABLES",
        help="only these of the later tables, comma-separated (g: collapse guard, h: significance test, "
        "i: principal components, j: sharded engine scaling, k: a million rows, "
        "l: main-thread responsiveness and 1,000,000 × 768 in JupyterLab, small with --quick); "
        "keeps the other tables of results.json and re-renders RESULTS.md",
    )
    parser.add_argument("--out", default=None, help="the Markdown report (default RESULTS.md)")
    parser.add_argument(
        "--j-size", default=None, metavar="NxD", help="table j's size (default 50000x512; smaller for a smoke test)"
    )
    parser.add_argument(
        "--k-size", default=None, metavar="NxD", help="table k's size (default 1000000x768; smaller for a smoke test)"
    )
    parser.add_argument("--numpy-worker", nargs=2, metavar=("PLAN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.numpy_worker:
        numpy_worker(*args.numpy_worker)
        return 0

    table_sizes = {
        key: tuple(int(v) for v in value.lower().split("x"))
        for key, value in (("j", args.j_size), ("k", args.k_size))
        if value
    }
    if args.only:
        return only_tables(
            args.only.split(","), Path(args.out) if args.out else HERE / "RESULTS.md", table_sizes, args.quick
        )
    if args.transfer_only:
        args.skip_engine = True
    out_md = Path(args.out) if args.out else HERE / ("RESULTS-transfer.md" if args.transfer_only else "RESULTS.md")
    out_json = HERE / ("results-transfer.json" if args.transfer_only else "results.json")
    started = time.time()
    command = " ".join(_rel(a) if os.path.exists(a) else a for a in [sys.executable, *sys.argv])
    mark_load("start")
    say(f"load average {os.getloadavg()}")
    report: dict = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": command,
        "machine": machine_info(),
        "quick": args.quick,
    }

    # 1. set-up (the engine bundles are not needed for the transfer alone)
    if not args.transfer_only:
        if not (HERE / "node_modules" / "esbuild").exists():
            say("npm ci (esbuild) in benchmarks/")
            run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE)
        say("compiling the wasm kernel and bundling the engine harness from src/spotlight")
        run(["node", str(HERE / "build.mjs")])
    report["versions"] = versions()
    work = Path(tempfile.mkdtemp(prefix="spotlight-bench-"))
    sizes = QUICK_SIZES if args.quick else SIZES
    try:
        if not args.skip_engine:
            engine_phase(report, work, sizes, args.quick)
        if not args.skip_lab:
            mark_load("jupyterlab")
            say("JupyterLab: transfer" if args.transfer_only else "JupyterLab: demo, 200,000 × 128, transfer, memory")
            plan = {
                "large": {"n": 200000, "d": 128, "steps": [20, 220], "click": True, "clickTimeoutMs": 300000},
                "transfer": [
                    {"n": 100000, "d": 125, "repeats": 3},
                    {"n": 1000000, "d": 125, "repeats": 2},
                    # The same build's comm path (the server made to answer 404), for comparison.
                    {"n": 100000, "d": 125, "repeats": 2, "comm": True},
                    {"n": 1000000, "d": 125, "repeats": 1, "comm": True},
                ],
                "memory": {"n": 1000000, "d": 128, "steps": 10, "backends": ["auto", "cpu"]},
                "rawComm": RAW_COMM,
            }
            if args.transfer_only:
                plan = {
                    "demo": False,
                    "transfer": plan["transfer"],
                    "rawComm": RAW_COMM,
                }
            elif args.quick:
                plan = {
                    "large": {"n": 20000, "d": 32, "steps": [5, 25], "click": True, "clickTimeoutMs": 120000},
                    "transfer": [{"n": 100000, "d": 125, "repeats": 1}],
                    "memory": {"n": 50000, "d": 64, "steps": 5, "backends": ["auto", "cpu"]},
                    "rawComm": RAW_COMM,
                }
            report["labPlan"] = plan
            report["lab"] = lab_phase(work, plan, work / "lab.json")
            report["kernelCrcMBps"] = kernel_crc_rate()
        if not (args.skip_collapse or args.transfer_only or args.quick):
            mark_load("collapse")
            say("collapse guard: 20 planted-digit audits, unguarded and guarded")
            import collapse

            report["collapse"] = collapse.collapse_phase(work / "collapse")
            report["significance"] = significance_phase()
            import pca_planted

            say("components: planted 100,000 × 768, raw and on the top 32 principal components")
            report["pca"] = pca_planted.pca_phase(work)
            import shards

            mark_load("shards")
            jn, jd = table_sizes.get("j", (50_000, 512))
            kn, kd = table_sizes.get("k", (1_000_000, 768))
            say(f"sharded engine scaling: {jn:,} × {jd}, 1/2(/4/8) worker threads and numpy")
            report["shardScaling"] = shards.scaling_phase(work, jn, jd)
            say(f"a million rows: {kn:,} × {kd} float32 .npy, the command line with its default threads")
            report["millionRows"] = shards.million_phase(work, kn, kd)
    finally:
        mark_load("end")
        report["load"] = LOAD
        report["elapsedS"] = time.time() - started
        out_json.write_text(json.dumps(report, indent=1, default=str))
        shutil.rmtree(work, ignore_errors=True)

    import report as report_module

    text = report_module.render(report)
    out_md.write_text(text)
    prettier = REPO / "node_modules" / ".bin" / "prettier"
    if prettier.exists():
        subprocess.run(
            [str(prettier), "--write", "--log-level", "warn", str(out_md), str(out_json)], check=False
        )
    say(f"wrote {out_md} in {report['elapsedS'] / 60:.1f} min")
    return 0


def kernel_crc_rate() -> float:
    """zlib.crc32 throughput in this interpreter (the kernel helper's checksum), MB/s."""
    data = os.urandom(64 * 2**20)
    best = min(_timed(lambda: zlib.crc32(data)) for _ in range(3))
    return len(data) / best / 1e6


def engine_phase(report: dict, work: Path, sizes, quick: bool) -> None:
    import datagen

    say("generating data")
    data = [datagen.write(str(work), n, d) for n, d in sizes]
    mark_load("bandwidth")
    say("memory bandwidth (single-thread numpy copy)")
    report["bandwidth"] = bandwidth(128 if quick else 512)
    say(f"  copy {report['bandwidth']['copyGBps']:.1f} GB/s (read+write), read {report['bandwidth']['readGBps']:.1f} GB/s")

    budget_np = 2000 if quick else 8000
    np_plan = {
        "cases": [
            dict(n=c["n"], d=c["d"], x=c["x"], loss=c["loss"], budgetMs=budget_np,
                 float64Check=c["n"] * c["d"] <= 10**6)
            for c in data
        ]
    }
    (work / "numpy-plan.json").write_text(json.dumps(np_plan))
    report["numpy"] = []

    def numpy_pass(number: int) -> None:
        for threads in (None, "1"):
            mark_load(f"numpy pass {number}, threads={threads or 'default'}")
            say(f"numpy pass {number}, BLAS threads {threads or 'default'}")
            env = dict(os.environ)
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env.pop(var, None)
                if threads:
                    env[var] = threads
            out = work / f"numpy-{number}-{threads or 'default'}.json"
            subprocess.run(
                [sys.executable, str(HERE / "run.py"), "--numpy-worker", str(work / "numpy-plan.json"), str(out)],
                env=env,
                check=False,
            )
            if out.exists():
                report["numpy"] += [dict(r, numpyPass=number) for r in json.loads(out.read_text())["results"]]

    # numpy runs before and after the engine; the tables use the faster of the
    # two passes, so that a load spike does not flatter the engine.
    numpy_pass(1)
    # Runs with exact shell evaluation (the default on wasm and cpu) read a
    # trajectory-dependent number of rows, so they run the real T steps
    # (measured). webgl and the unpruned runs have a time budget: k steps
    # chosen from a short probe, up to T.
    steps_pruned = 2000 if quick else T
    budget = 1500 if quick else 8000
    budget_wasm_off = 3000 if quick else 25000
    budget_kernel, kernel_calls = (500 if quick else 1500), 10
    report["budgets"] = {
        "engineMs": budget,
        "wasmOffMs": budget_wasm_off,
        "numpyMs": budget_np,
        "prunedSteps": steps_pruned,
        "kernelMs": budget_kernel,
        "kernelMinCalls": kernel_calls,
    }
    node_cases, chromium_cases, webgl_cases, kernels = [], [], [], []
    for c in data:
        files = dict(n=c["n"], d=c["d"], x=c["x"], loss=c["loss"])
        for backend in ("wasm", "cpu"):
            node_cases.append(dict(files, backend=backend, steps=steps_pruned))
        for backend in ("wasm", "cpu"):
            chromium_cases.append(dict(files, backend=backend, steps=steps_pruned))
        # The large sizes once more without pruning: the bytes-saved
        # comparison, and each backend's unpruned pass in a whole step.
        if c["n"] * c["d"] >= 10**7 or quick:
            chromium_cases.append(
                dict(files, backend="wasm", budgetMs=budget_wasm_off, pruning=False, variant="unpruned")
            )
            chromium_cases.append(dict(files, backend="cpu", budgetMs=budget, pruning=False, variant="unpruned"))
        # WebGL last: SwiftShader's threads must not overlap the other runs.
        webgl_cases.append(dict(files, backend="webgl", budgetMs=budget, probeSteps=4, minSteps=8))
        # The unpruned pass timed directly (no optimiser), at a fixed (μ, τ)
        # with 7.5 % of the rows active.
        for kernel in ("wasm", "cpu"):
            kernels.append(
                dict(files, kernel=kernel, activeFraction=0.075, budgetMs=budget_kernel, minCalls=kernel_calls)
            )
    # The cost of the engine's event-loop yields (a setTimeout(0) every 30 ms):
    # the smallest size with and without yields, alternated, fixed steps.
    small = data[0]
    for _ in range(2):
        for backend in ("wasm", "cpu"):
            for variant, interval in (("yield", None), ("no-yield", 1e9)):
                case = dict(n=small["n"], d=small["d"], x=small["x"], loss=small["loss"], backend=backend,
                            steps=steps_pruned, variant=variant)
                if interval:
                    case["yieldIntervalMs"] = interval
                chromium_cases.append(case)
    chromium_cases += webgl_cases  # the driver runs them last
    (work / "node-plan.json").write_text(json.dumps({"cases": node_cases, "kernels": kernels}))
    (work / "chromium-plan.json").write_text(
        json.dumps({"cases": chromium_cases, "crcMegabytes": 200, "kernels": kernels})
    )

    mark_load("node engine")
    say("engine in Node (wasm, cpu)")
    subprocess.run(
        ["node", str(HERE / "build" / "engine-node.js"), str(work / "node-plan.json"), str(work / "node.json")],
        check=False,
        timeout=1200,
    )
    report["node"] = json.loads((work / "node.json").read_text()) if (work / "node.json").exists() else {}

    mark_load("chromium engine")
    say("engine in headless Chromium (webgl, wasm, cpu)")
    subprocess.run(
        ["node", str(HERE / "browser_engine.mjs"), str(work / "chromium-plan.json"), str(work / "chromium.json")],
        check=False,
        timeout=2400,
    )
    report["chromium"] = json.loads((work / "chromium.json").read_text()) if (work / "chromium.json").exists() else {}
    numpy_pass(2)


if __name__ == "__main__":
    sys.exit(main())

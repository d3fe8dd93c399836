"""Benchmarks j and k: the sharded engine (issue 11) through the command line.

j. Sharded engine scaling. 50,000 × 512 planted data (datagen.py), the paper's defaults, one
spotlight (T = 5,000 steps), `bin/spotlight-search.js` (auto: WASM shards) with 1 and 2 worker
threads (and 4 and 8 where the machine has that many hardware threads), and the numpy
implementation (spotlight_numpy.py, float32, T steps) in the same run. Engine time is the JSON's
per-spotlight time (the search, after loading); wall time is the whole command (Node start, .npy
read, shards started and loaded, search, JSON written).

k. A million rows. 1,000,000 × 768 float32 (3.1 GB .npy, generated in blocks into a temporary
folder, never the repository), count 1, the command line with its default threads: time per step
(engine time / T), total time, and the peak resident memory of the whole process (coordinator and
worker threads: `ru_maxrss` of the child, as `/usr/bin/time -v` reports it) against the file size.

Run alone: `python benchmarks/run.py --only j,k` (sizes can be lowered for a smoke test with
`--j-size 5000x64 --k-size 20000x96`).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLI = REPO / "bin" / "spotlight-search.js"
T = 5000


def _cli(embeddings: Path, losses: Path, out: Path, *extra: str) -> dict:
    """Run the command line once; return its JSON, wall time and the child's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    timer = ["/usr/bin/time", "-f", "MAXRSS_KB %M"] if Path("/usr/bin/time").exists() else []
    t0 = time.perf_counter()
    done = subprocess.run(
        [*timer, "node", str(CLI), "--embeddings", str(embeddings), "--losses", str(losses), "--count", "1",
         "--quiet", "--out", str(out), *extra],
        capture_output=True, text=True,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"spotlight-search failed ({done.returncode}): {done.stderr.strip()}")
    peak = None
    for line in done.stderr.splitlines():
        if line.startswith("MAXRSS_KB "):
            peak = int(line.split()[1]) * 1024
    if peak is None:
        # Without GNU time: the largest child so far (exact when this one is the largest).
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak = after * 1024 if after > before else None
    result = json.loads(out.read_text())
    s = result["spotlights"][0]
    steps = len(s["history"]["objective"])
    support = sum(1 for k in s["kernelWeights"] if k > 0)
    return {
        "wallS": wall,
        "engineMs": s["timeMs"],
        "stepMs": s["timeMs"] / steps,
        "steps": steps,
        "backend": result["backend"],
        "backendReason": result["backendReason"],
        "totalWeight": s["totalWeight"],
        "weightedLoss": s["weightedLoss"],
        "support": support,
        "peakRssBytes": peak,
        "stderr": done.stderr.strip()[-500:],
    }


def _save_npy(directory: Path, n: int, d: int) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """datagen's planted data as .npy files (float32)."""
    import datagen

    x, loss, _ = datagen.planted(n, d)
    e, l = directory / f"{n}x{d}.npy", directory / f"{n}x{d}.loss.npy"
    np.save(e, x)
    np.save(l, loss)
    return e, l, x, loss


def _numpy_time(x: np.ndarray, loss: np.ndarray) -> dict:
    """The numpy implementation, T steps, in this process (float32 BLAS, default threads)."""
    import spotlight_numpy

    search = spotlight_numpy.Search(x, loss)
    search.spotlight(steps=5)  # warm-up
    r = search.spotlight(steps=T)
    return {"spotlightMs": r["timeMs"], "stepMs": r["timeMs"] / T, "totalWeight": r["totalWeight"],
            "weightedLoss": r["weightedLoss"]}


def scaling_phase(work: Path, n: int = 50_000, d: int = 512) -> dict:
    """Table j: the command line with 1, 2 (4, 8) worker threads and numpy, one run each."""
    cores = os.cpu_count() or 1
    counts = [c for c in (1, 2, 4, 8) if c <= 2 or c <= cores]
    e, l, x, loss = _save_npy(work, n, d)
    runs = []
    for threads in counts:
        print(f"  j: {n:,} x {d}, --threads {threads}", flush=True)
        r = _cli(e, l, work / f"j-{threads}.json", "--threads", str(threads))
        r["threads"] = threads
        runs.append(r)
    print(f"  j: {n:,} x {d}, numpy", flush=True)
    np_run = _numpy_time(x, loss)
    return {"n": n, "d": d, "cores": cores, "load": os.getloadavg(), "runs": runs, "numpy": np_run}


def write_million(directory: Path, n: int, d: int, seed: int = 11) -> tuple[Path, Path]:
    """A planted n × d float32 .npy written in blocks (never all in memory), and its losses.

    Background: 8 Gaussian components (centres N(0, 4²I), unit spread), losses Exp(mean 0.2);
    a planted 2 % cluster (spread 0.6) with losses ≈ 2.
    """
    from numpy.lib.format import open_memmap

    rng = np.random.default_rng([seed, n, d])
    centres = (4.0 * rng.standard_normal((9, d))).astype(np.float32)
    e, l = directory / f"{n}x{d}.npy", directory / f"{n}x{d}.loss.npy"
    x = open_memmap(e, mode="w+", dtype=np.float32, shape=(n, d))
    losses = np.empty(n, dtype=np.float32)
    block = max(1, (1 << 24) // d)
    for start in range(0, n, block):
        stop = min(n, start + block)
        m = stop - start
        comp = rng.integers(0, 8, size=m)
        planted = rng.random(m) < 0.02
        comp[planted] = 8
        noise = rng.standard_normal((m, d), dtype=np.float32)
        noise[planted] *= 0.6
        noise += centres[comp]
        x[start:stop] = noise
        lb = rng.exponential(0.2, size=m)
        lb[planted] = np.maximum(0.0, 2.0 + 0.3 * rng.standard_normal(int(planted.sum())))
        losses[start:stop] = lb
    x.flush()
    del x
    np.save(l, losses)
    return e, l


def million_phase(work: Path, n: int = 1_000_000, d: int = 768) -> dict:
    """Table k: one spotlight on n × d float32 from .npy with the default threads."""
    print(f"  k: writing {n:,} x {d} float32 ({4 * n * d / 1e9:.2f} GB) to {work}", flush=True)
    t0 = time.perf_counter()
    e, l = write_million(work, n, d)
    gen = time.perf_counter() - t0
    print(f"  k: running the command line (default threads)", flush=True)
    r = _cli(e, l, work / "k.json")
    size = e.stat().st_size
    e.unlink()
    return {"n": n, "d": d, "fileBytes": size, "generateS": gen, "load": os.getloadavg(),
            "threads": max(1, (os.cpu_count() or 2) - 1), **r}


def render_j(section: dict | None) -> list[str]:
    """The Markdown of table j."""
    lines = ["## j. Sharded engine scaling", ""]
    if not section:
        return lines + ["Not run.", ""]
    n, d = section["n"], section["d"]
    lines += [
        f"{n:,} × {d}, the paper's defaults, one spotlight (T = {T:,}), `bin/spotlight-search.js` "
        f"(backend auto → {section['runs'][0]['backend']}) on a machine with {section['cores']} hardware threads "
        f"(load average {section['load'][0]:.1f} when it ended). Engine time: the search after loading; wall time: "
        "the whole command. The numpy implementation ran T steps in the same run.",
        "",
        "| worker threads | engine time (s) | per step (ms) | speedup vs 1 | engine / numpy | wall time (s) | K | f | "
        "support |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    base = section["runs"][0]["engineMs"]
    npm = section["numpy"]["spotlightMs"]
    for r in section["runs"]:
        lines.append(
            f"| {r['threads']} | {r['engineMs'] / 1000:.1f} | {r['stepMs']:.2f} | {base / r['engineMs']:.2f}× | "
            f"{r['engineMs'] / npm:.2f} | {r['wallS']:.1f} | {r['totalWeight']:.1f} | {r['weightedLoss']:.4f} | "
            f"{r['support']:,} |"
        )
    nr = section["numpy"]
    lines += [
        f"| numpy (float32) | {npm / 1000:.1f} | {nr['stepMs']:.2f} | — | 1.00 | — | {nr['totalWeight']:.1f} | "
        f"{nr['weightedLoss']:.4f} | — |",
        "",
    ]
    return lines


def render_k(section: dict | None) -> list[str]:
    """The Markdown of table k."""
    lines = ["## k. A million rows", ""]
    if not section:
        return lines + ["Not run.", ""]
    size = section["fileBytes"]
    peak = section.get("peakRssBytes")
    peak_text = f"{peak / 1e9:.2f} GB ({peak / size:.2f}× the file)" if peak else "not measured"
    lines += [
        f"{section['n']:,} × {section['d']} float32 (.npy of {size / 1e9:.2f} GB), count 1, the paper's defaults, "
        f"`bin/spotlight-search.js` with its default threads ({section['threads']}), backend "
        f"{section['backend']}; load average {section['load'][0]:.1f} when it ended.",
        "",
        "| time per step (ms) | engine time (s) | total time (s) | peak RSS | K | f | support |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {section['stepMs']:.1f} | {section['engineMs'] / 1000:.1f} | {section['wallS']:.1f} | {peak_text} | "
        f"{section['totalWeight']:.0f} | {section['weightedLoss']:.4f} | {section['support']:,} |",
        "",
        "Total time includes reading the file into the shards; the peak RSS is the whole process "
        "(main thread and worker threads). Target: ≤ 1.3× the file size.",
        "",
    ]
    return lines


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory(prefix="spotlight-shards-") as tmp:
        j = scaling_phase(Path(tmp), 5000, 64)
        k = million_phase(Path(tmp), 20000, 96)
        print("\n".join(render_j(j) + render_k(k)))

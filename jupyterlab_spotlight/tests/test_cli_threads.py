"""The built `spotlight-search` command on worker threads (issue 11): the
same regions with `--threads 2` as with `--threads 1`, and a truncated .npy
refused before anything is loaded, naming both sizes.

Runs bin/spotlight-search.js (lib/node, built by `jlpm build`) on files NumPy
wrote.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "bin" / "spotlight-search.js"
WORKER = ROOT / "lib" / "node" / "cli" / "shardWorker.js"


@pytest.fixture(scope="module")
def node() -> str:
    """Node, with the command line built."""
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed")
    if not WORKER.exists():
        npx = shutil.which("npx")
        assert npx is not None, "npx is needed to build the command line"
        subprocess.run(
            [npx, "tsc", "-p", "tsconfig.cli.json"], cwd=ROOT, check=True, timeout=600
        )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """2,003 × 24 float64 embeddings with a planted high-loss cluster."""
    rng = np.random.default_rng(7)
    n, d = 2003, 24
    x = rng.standard_normal((n, d))
    losses = rng.exponential(0.3, n)
    x[:80] = x[:80] * 0.4 + 3.0
    losses[:80] += 2.0
    folder = tmp_path_factory.mktemp("threads")
    np.save(folder / "E.npy", x)
    np.save(folder / "L.npy", losses.astype(np.float32))
    return folder / "E.npy", folder / "L.npy"


def search(node: str, files: tuple[Path, Path], *extra: str) -> subprocess.CompletedProcess:
    """Run the command; return the finished process."""
    e, l = files
    return subprocess.run(
        [node, str(BIN), "--embeddings", str(e), "--losses", str(l), "--quiet", *extra],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_threads_give_the_same_result(node: str, files: tuple[Path, Path]) -> None:
    args = ("--count", "2", "--steps", "1000", "--backend", "cpu")
    one = search(node, files, "--threads", "1", *args)
    two = search(node, files, "--threads", "2", *args)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert "Sharded: 1 shard of up to 2,003 rows" in a["backendReason"]
    # Split along the summation tree's leaves (63 leaves of 32 rows).
    assert "Sharded: 2 shards of up to 1,024 rows" in b["backendReason"]
    # The shards sum in the single engine's order: the same numbers.
    for sa, sb in zip(a["spotlights"], b["spotlights"], strict=True):
        sa.pop("timeMs")
        sb.pop("timeMs")
        assert sa == sb
    # The planted cluster is region 1.
    wa = np.array(a["spotlights"][0]["kernelWeights"])
    assert (wa[:80] > 0).mean() > 0.9


def test_truncated_file_is_refused_with_both_sizes(
    node: str, files: tuple[Path, Path], tmp_path: Path
) -> None:
    e, l = files
    data = e.read_bytes()
    cut = tmp_path / "cut.npy"
    cut.write_bytes(data[:-100])
    done = search(node, (cut, l))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{len(data):,} bytes with the header, but the file has {len(data) - 100:,} bytes" in lines[0]
    assert lines[0].startswith(f"spotlight-search: --embeddings {cut} is truncated")


def test_unknown_argument_is_still_refused(node: str, files: tuple[Path, Path]) -> None:
    done = search(node, files, "--workers", "2")
    assert done.returncode == 2
    assert "unknown option '--workers'" in done.stderr

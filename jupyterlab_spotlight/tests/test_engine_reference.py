"""The TypeScript search engine against an independent float64 reference.

The engine runs through its command line, `bin/spotlight-search.js` (built by
`jlpm build:lib`), on .npy files written here; `spotlight_reference.py` runs
the method (d'Eon et al. 2021) in float64 NumPy on the same float32 values.
The data: a Gaussian mixture of 5,000 x 64 with two planted 2 % clusters of
different mean loss and scattered high-loss points.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

try:
    from .spotlight_reference import run_spotlights, spotlight_size
except ImportError:  # run as a plain file
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from spotlight_reference import run_spotlights, spotlight_size

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "bin" / "spotlight-search.js"
BUILT = ROOT / "lib" / "node" / "cli" / "main.js"
N, D, FRACTION = 5000, 64, 0.02


def planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings (float32), losses (float32) and labels (0 background,
    1 high-loss cluster, 2 lower-loss cluster, 3 scattered high loss)."""
    rng = np.random.default_rng(seed)
    size = int(FRACTION * N)
    centres = rng.normal(0.0, 4.0, (10, D))
    labels = np.zeros(N, dtype=int)
    order = rng.permutation(N)
    labels[order[:size]] = 1
    labels[order[size : 2 * size]] = 2
    component = np.where(labels == 1, 8, np.where(labels == 2, 9, rng.integers(0, 8, N)))
    spread = np.where(labels == 0, 1.0, 0.6)[:, None]
    X = centres[component] + spread * rng.normal(size=(N, D))
    losses = rng.exponential(0.2, N)
    losses[labels == 1] = np.clip(2.0 + 0.3 * rng.normal(size=size), 0, None)
    losses[labels == 2] = np.clip(1.0 + 0.2 * rng.normal(size=size), 0, None)
    scattered = (labels == 0) & (rng.random(N) < 0.03)
    labels[scattered] = 3
    losses[scattered] = 2.5 + 1.5 * rng.random(scattered.sum())
    return X.astype(np.float32), losses.astype(np.float32), labels


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("Node.js is not on PATH: the engine's CLI needs it (install Node 18+).")
    if not BUILT.exists():
        pytest.fail(
            f"The spotlight-search CLI is not built ({BUILT.relative_to(ROOT)} is missing): "
            "run `jlpm build:lib` (or `jlpm build:cli`) in the repository first."
        )
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X, losses, labels = planted()
    folder = tmp_path_factory.mktemp("spotlight")
    np.save(folder / "E.npy", X)
    np.save(folder / "L.npy", losses)
    # The same values as float64, the embeddings in Fortran order.
    np.save(folder / "EF64.npy", np.asfortranarray(X.astype(np.float64)))
    np.save(folder / "L64.npy", losses.astype(np.float64))
    return {"X": X, "losses": losses, "labels": labels, "folder": folder}


@pytest.fixture(scope="module")
def reference(data):
    return run_spotlights(
        data["X"].astype(np.float64), data["losses"].astype(np.float64), FRACTION, count=2
    )


def run_cli(node: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node, str(CLI), *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def top(weights: np.ndarray, m: int) -> set[int]:
    return set(np.argsort(-np.asarray(weights), kind="stable")[:m].tolist())


def test_reference_finds_the_planted_clusters(data, reference):
    size = spotlight_size(FRACTION, N)
    for j, spot in enumerate(reference):
        assert len(top(spot.kernel_weights, size) & set(np.flatnonzero(data["labels"] == j + 1))) >= 95
        assert abs(spot.total_weight / (1.05 * size) - 1) < 0.03
    by_loss = top(data["losses"], size)
    assert len(by_loss & set(np.flatnonzero(data["labels"] == 1))) < 50


@pytest.mark.parametrize(
    "backend, embeddings, losses",
    [("cpu", "E.npy", "L.npy"), ("wasm", "EF64.npy", "L64.npy")],
)
def test_engine_matches_the_float64_reference(node, data, reference, tmp_path, backend, embeddings, losses):
    out = tmp_path / "result.json"
    folder = data["folder"]
    done = run_cli(
        node,
        "--embeddings", str(folder / embeddings),
        "--losses", str(folder / losses),
        "--spotlight-size", str(FRACTION),
        "--count", "2",
        "--backend", backend,
        "--out", str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "spotlight 2/2" in done.stderr  # progress on stderr
    result = json.loads(out.read_text())
    assert result["version"] == 1
    assert result["backend"] == backend
    assert (result["n"], result["d"]) == (N, D)
    assert result["parameters"]["size"] == spotlight_size(FRACTION, N) == 100
    assert result["parameters"]["steps"] == 5000
    assert len(result["spotlights"]) == 2

    size = result["parameters"]["size"]
    for j, (spot, ref) in enumerate(zip(result["spotlights"], reference)):
        for key in ("center", "precision", "totalWeight", "supportSize", "weightedLoss",
                    "weightedLossOriginal", "kernelWeights"):
            assert key in spot
        assert len(spot["center"]) == D
        assert len(spot["kernelWeights"]) == N
        # Weighted losses within 1 % of the float64 reference.
        assert spot["weightedLoss"] == pytest.approx(ref.weighted_loss, rel=0.01)
        assert spot["weightedLossOriginal"] == pytest.approx(ref.weighted_loss_original, rel=0.01)
        # The same region: top-|cluster| sets overlap by at least 95 %.
        assert len(top(spot["kernelWeights"], size) & top(ref.kernel_weights, size)) >= 95
        assert len(top(spot["kernelWeights"], size) & set(np.flatnonzero(data["labels"] == j + 1))) >= 95
        assert spot["totalWeight"] == pytest.approx(1.05 * size, rel=0.03)
        # The reported weights are k = max(0, 1 - tau |x - mu|^2) of the reported (mu, tau).
        X = data["X"].astype(np.float64)
        mu = np.asarray(spot["center"], dtype=np.float64)
        k = np.maximum(0.0, 1.0 - spot["precision"] * np.sum((X - mu) ** 2, axis=1))
        np.testing.assert_allclose(spot["kernelWeights"], k, atol=1e-5)


@pytest.mark.parametrize(
    "losses, message",
    [
        (lambda L: np.where(np.arange(N) == 7, np.nan, L), "NaN or infinite"),
        (lambda L: -L, "negative"),
        (lambda L: L[:10], "10 losses for N = 5000"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(node, data, tmp_path, losses, message):
    bad = tmp_path / "bad.npy"
    np.save(bad, losses(data["losses"]).astype(np.float32))
    done = run_cli(node, "--embeddings", str(data["folder"] / "E.npy"), "--losses", str(bad))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert done.stdout == ""

"""Deterministic synthetic data for the benchmarks.

A Gaussian mixture in D dimensions with two planted high-loss clusters, in
the style of the engine's tests but generated independently with numpy:

- 8 background components, centres ~ N(0, 4² I), unit spread, losses
  Exp(mean 0.2), of which 3 % are scattered high-loss points in [2.5, 4);
- cluster 1: 2 % of the points, spread 0.6, loss ≈ 2.0 ± 0.3;
- cluster 2: 2 % of the points, spread 0.6, loss ≈ 1.0 ± 0.2.

Rows are shuffled so that indices carry no information. The same (n, d, seed)
always gives the same bytes (numpy's PCG64 through ``default_rng``). The
kernel-side part of the benchmark imports this file too, so the browser, Node
and numpy all see identical arrays.
"""

from __future__ import annotations

import numpy as np

COMPONENTS = 8


def planted(n: int, d: int, seed: int = 1, fraction: float = 0.02):
    """Return ``(embeddings float32 (n, d), losses float32 (n,), labels int32 (n,))``.

    ``labels``: 0 background, 1 the high-loss cluster, 2 the lower-loss
    cluster, 3 scattered high-loss background points.
    """
    rng = np.random.default_rng([seed, n, d])
    centres = (4.0 * rng.standard_normal((COMPONENTS + 2, d))).astype(np.float32)
    size = int(np.floor(fraction * n))
    comp = rng.integers(0, COMPONENTS, size=n)
    comp[:size] = COMPONENTS
    comp[size:2 * size] = COMPONENTS + 1
    spread = np.ones(n, dtype=np.float32)
    spread[: 2 * size] = 0.6
    # Built in row blocks to bound the float64 temporaries on large n.
    x = np.empty((n, d), dtype=np.float32)
    block = max(1, (1 << 22) // d)
    for start in range(0, n, block):
        stop = min(n, start + block)
        noise = rng.standard_normal((stop - start, d), dtype=np.float32)
        noise *= spread[start:stop, None]
        noise += centres[comp[start:stop]]
        x[start:stop] = noise
    losses = rng.exponential(0.2, size=n)
    labels = np.zeros(n, dtype=np.int32)
    scattered = (rng.random(n) < 0.03)
    scattered[: 2 * size] = False
    losses[scattered] = 2.5 + 1.5 * rng.random(int(scattered.sum()))
    labels[scattered] = 3
    losses[:size] = np.maximum(0.0, 2.0 + 0.3 * rng.standard_normal(size))
    losses[size:2 * size] = np.maximum(0.0, 1.0 + 0.2 * rng.standard_normal(size))
    labels[:size] = 1
    labels[size:2 * size] = 2
    order = rng.permutation(n)
    return (
        np.ascontiguousarray(x[order]),
        losses[order].astype(np.float32),
        labels[order],
    )


def write(directory, n: int, d: int, seed: int = 1) -> dict:
    """Write ``{n}x{d}.x.f32`` and ``{n}x{d}.loss.f32`` (raw little-endian) and
    return their paths and a description."""
    import os

    x, loss, labels = planted(n, d, seed)
    base = os.path.join(directory, f"{n}x{d}")
    x.tofile(base + ".x.f32")
    loss.tofile(base + ".loss.f32")
    return {
        "n": n,
        "d": d,
        "x": base + ".x.f32",
        "loss": base + ".loss.f32",
        "planted": int((labels == 1).sum()),
    }

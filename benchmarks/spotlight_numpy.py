"""A float32 numpy implementation of the Spotlight search, for the benchmarks.

The Spotlight method of d'Eon et al. 2021 (arXiv 2107.00758), as
/work/shared/SPOTLIGHT_METHOD.md states it: one spotlight is T steps of Adam
(ascent) on J_t = f − P_t with the plateau rule on the learning rate, from
μ₀ = 0 and τ₀ (lowered to 0.5 / max‖x‖² when no point lies within
r₀ = τ₀^(−1/2) of the origin). It is written here, independently of the
tests' reference, as a competent user would write it with numpy: per step two
float32 matrix-vector products through BLAS (z = Xμ and Xᵀg), the analytic
gradient, and the element-wise work on N-vectors in preallocated buffers.

Per step it reads X twice (8·N·D bytes) plus a handful of N-vectors.
"""

from __future__ import annotations

import math
import time

import numpy as np

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
THRESHOLD, MIN_CHANGE = 1e-4, 1e-8


def barrier_schedule(steps: int, initial: float, final: float) -> np.ndarray:
    """b_t geometric from b_0 = N − S to b_{T−1} = final (numpy's geomspace)."""
    if steps <= 1:
        return np.array([initial], dtype=np.float64)
    return np.geomspace(initial, final, steps)


class Search:
    """Precomputed state for spotlights on one (X, ℓ)."""

    def __init__(self, x: np.ndarray, losses: np.ndarray, fraction=0.02, initial_precision=1e-4,
                 dtype=np.float32):
        """``dtype``: float32 for the benchmark; float64 to check the method
        against the engine's float64 host kernel."""
        self.dtype = dt = np.dtype(dtype)
        self.x = np.ascontiguousarray(x, dtype=dt)
        self.n, self.d = self.x.shape
        self.losses = np.asarray(losses, dtype=dt)
        self.size = math.floor(fraction * self.n + 1e-9)
        self.norms = np.einsum("ij,ij->i", self.x, self.x)
        k0 = np.maximum(0.0, 1.0 - initial_precision * self.norms.astype(np.float64)).sum()
        self.start_adjusted = not (k0 > 0)
        self.tau0 = 0.5 / float(self.norms.max()) if self.start_adjusted else initial_precision
        n = self.n
        self._z = np.empty(n, dt)
        self._dist = np.empty(n, dt)
        self._u = np.empty(n, dt)
        self._k = np.empty(n, dt)
        self._g = np.empty(n, dt)
        self._a = np.empty(n, bool)

    def spotlight(self, losses=None, steps=5000, lr=1e-2, patience=10, factor=0.5,
                  final_fraction=0.05, scale=1.0, on_step=None):
        """Optimise one spotlight; return a dict with μ, τ, K, f and the time."""
        started = time.perf_counter()
        x, n, d, size = self.x, self.n, self.d, self.size
        dt = self.dtype.type
        loss = self.losses if losses is None else np.asarray(losses, dt)
        barriers = barrier_schedule(steps, n - size, final_fraction * size)
        theta = np.zeros(d + 1, np.float64)
        theta[d] = math.log(self.tau0)
        m = np.zeros(d + 1)
        v = np.zeros(d + 1)
        grad = np.zeros(d + 1)
        best, bad = math.inf, 0
        z, dist, u, k, g, a = self._z, self._dist, self._u, self._k, self._g, self._a
        K = f = J = math.nan
        for t in range(steps):
            tau = math.exp(theta[d])
            mu = theta[:d]
            mu32 = mu.astype(dt)
            mm = float(mu @ mu)
            # Pass 1: z = Xμ, d_i = max(0, ‖x‖² − 2z + ‖μ‖²), k = max(0, 1 − τd).
            np.matmul(x, mu32, out=z)
            np.multiply(z, -2.0, out=dist)
            dist += self.norms
            dist += dt(mm)
            np.maximum(dist, 0.0, out=dist)
            np.multiply(dist, dt(-tau), out=u)
            u += 1.0
            np.greater_equal(u, 0.0, out=a)
            np.maximum(u, 0.0, out=k)
            K = float(k.sum(dtype=np.float64))
            if not K > 0:
                raise RuntimeError(f"K fell to {K} at step {t}")
            L = float(k @ loss)
            f = L / K
            b = barriers[t]
            gap = max(0.0, size + b - K)
            penalty = scale * gap * gap / (b * b)
            slope = -2.0 * scale * gap / (b * b)
            J = f - penalty
            # g_i = a_i ((ℓ_i − f)/K − P′); pass 2: Xᵀg.
            np.subtract(loss, dt(f), out=g)
            g *= dt(1.0 / K)
            g -= dt(slope)
            g *= a
            xtg = np.matmul(g, x).astype(np.float64)
            sum_g = float(g.sum(dtype=np.float64))
            gd = float(g @ dist)
            grad[:d] = 2.0 * tau * (xtg - sum_g * mu)
            grad[d] = -tau * gd
            # Adam, ascent.
            step = t + 1
            m *= BETA1
            m += (1 - BETA1) * grad
            v *= BETA2
            v += (1 - BETA2) * grad * grad
            bc1 = 1 - BETA1 ** step
            bc2 = math.sqrt(1 - BETA2 ** step)
            theta += (lr / bc1) * m / (np.sqrt(v) / bc2 + EPS)
            # Plateau rule on q = −J (the value before the update).
            q = -J
            if q < best * (1 - THRESHOLD):
                best, bad = q, 0
            else:
                bad += 1
            if bad > patience:
                nxt = lr * factor
                if lr - nxt > MIN_CHANGE:
                    lr = nxt
                best, bad = math.inf, 0
            if on_step is not None:
                on_step(t)
        tau = math.exp(theta[d])
        mu32 = theta[:d].astype(np.float32)
        mu_dt = mu32.astype(dt)
        dist = np.maximum(0.0, self.norms - 2.0 * (x @ mu_dt) + float(mu_dt @ mu_dt))
        weights = np.maximum(0.0, 1.0 - tau * dist).astype(np.float32)
        K_final = float(weights.sum(dtype=np.float64))
        return {
            "center": mu32,
            "precision": tau,
            "weights": weights,
            "totalWeight": K_final,
            "weightedLoss": float(weights @ loss) / K_final,
            "objective": J,
            "timeMs": (time.perf_counter() - started) * 1000,
        }

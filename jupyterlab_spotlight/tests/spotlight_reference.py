"""An independent float64 NumPy implementation of the Spotlight search.

It follows the method as described (d'Eon et al. 2021, "The Spotlight: A
General Method for Discovering Systematic Errors in Deep Learning Models";
the authors' torch_spotlight/spotlight.py) directly, with none of the
TypeScript engine's reformulations: the per-example gradient weights g are
formed explicitly, Adam follows torch.optim.Adam (ε = 1e-8) and the learning
rate follows torch's ReduceLROnPlateau with a reset after every reduction.
It exists to check the engine (src/spotlight/) against, in tests only.

Shapes: X is N x D, losses is N; one spotlight has a centre mu (D) and a
log-precision s (tau = exp(s)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BETA1 = 0.9
BETA2 = 0.999
EPSILON = 1e-8
THRESHOLD = 1e-4
MIN_LR_CHANGE = 1e-8


@dataclass
class ReferenceSpotlight:
    """One spotlight found by the reference."""

    center: np.ndarray
    precision: float
    kernel_weights: np.ndarray
    total_weight: float
    weighted_loss: float
    weighted_loss_original: float
    initial_precision: float
    start_adjusted: bool
    objective: list = field(default_factory=list)
    total_weight_history: list = field(default_factory=list)
    learning_rate: list = field(default_factory=list)


def spotlight_size(fraction: float, n: int) -> int:
    """S = floor(fraction * N) (with the engine's 1e-9 slack)."""
    return int(np.floor(fraction * n + 1e-9))


def kernel(X: np.ndarray, mu: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncated quadratic kernel: squared distances d, weights k, active mask a."""
    d = np.maximum(np.sum(X * X, axis=1) - 2.0 * (X @ mu) + mu @ mu, 0.0)
    u = 1.0 - tau * d
    return d, np.maximum(u, 0.0), (u >= 0).astype(np.float64)


def objective_and_gradient(X, losses, mu, s, size, barrier, scale):
    """J = f - P and its analytic gradient (dJ/dmu, dJ/ds), float64."""
    tau = np.exp(s)
    d, k, a = kernel(X, mu, tau)
    K = k.sum()
    f = (k @ losses) / K
    gap = max(0.0, size + barrier - K)
    P = scale * gap**2 / barrier**2
    dP = -2.0 * scale * gap / barrier**2
    g = a * ((losses - f) / K - dP)
    grad_mu = 2.0 * tau * (X.T @ g - g.sum() * mu)
    grad_s = -tau * (g @ d)
    return f - P, K, f, grad_mu, grad_s


def run_spotlight(
    X: np.ndarray,
    losses: np.ndarray,
    size: int,
    steps: int = 5000,
    learning_rate: float = 1e-2,
    patience: int = 10,
    factor: float = 0.5,
    final_barrier_fraction: float = 0.05,
    barrier_scale: float = 1.0,
    initial_precision: float = 1e-4,
) -> ReferenceSpotlight:
    """Optimise one spotlight from mu = 0, tau = initial_precision."""
    X = np.asarray(X, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    n, dim = X.shape
    norms = np.sum(X * X, axis=1)
    adjusted = not (np.maximum(0.0, 1.0 - initial_precision * norms).sum() > 0)
    tau0 = 0.5 / norms.max() if adjusted else initial_precision
    barriers = np.geomspace(n - size, final_barrier_fraction * size, steps)

    theta = np.zeros(dim + 1)
    theta[dim] = np.log(tau0)
    m = np.zeros(dim + 1)
    v = np.zeros(dim + 1)
    lr = learning_rate
    best = np.inf
    bad = 0
    out = ReferenceSpotlight(
        center=np.zeros(dim),
        precision=tau0,
        kernel_weights=np.zeros(n),
        total_weight=0.0,
        weighted_loss=0.0,
        weighted_loss_original=0.0,
        initial_precision=tau0,
        start_adjusted=adjusted,
    )
    for t in range(steps):
        J, K, _, grad_mu, grad_s = objective_and_gradient(
            X, losses, theta[:dim], theta[dim], size, barriers[t], barrier_scale
        )
        if not K > 0:
            raise RuntimeError(f"K = 0 at step {t}")
        # torch.optim.Adam on -J (descent), written as ascent on J.
        grad = np.append(grad_mu, grad_s)
        m = BETA1 * m + (1 - BETA1) * grad
        v = BETA2 * v + (1 - BETA2) * grad * grad
        step = t + 1
        bc1 = 1 - BETA1**step
        bc2 = 1 - BETA2**step
        theta = theta + (lr / bc1) * m / (np.sqrt(v) / np.sqrt(bc2) + EPSILON)
        # ReduceLROnPlateau(mode='min', threshold=1e-4 rel) on -J, then reset.
        q = -J
        if q < best * (1 - THRESHOLD):
            best = q
            bad = 0
        else:
            bad += 1
        if bad > patience:
            new_lr = lr * factor
            if lr - new_lr > MIN_LR_CHANGE:
                lr = new_lr
            best = np.inf
            bad = 0
        out.objective.append(J)
        out.total_weight_history.append(K)
        out.learning_rate.append(lr)

    mu = theta[:dim]
    tau = float(np.exp(theta[dim]))
    _, k, _ = kernel(X, mu, tau)
    out.center = mu
    out.precision = tau
    out.kernel_weights = k
    out.total_weight = float(k.sum())
    out.weighted_loss = float(k @ losses / k.sum())
    return out


def run_spotlights(X, losses, fraction=0.02, count=5, **kwargs) -> list[ReferenceSpotlight]:
    """Sequential spotlights with loss damping l <- l * (1 - k / max k)."""
    X = np.asarray(X, dtype=np.float64)
    original = np.asarray(losses, dtype=np.float64)
    size = spotlight_size(fraction, X.shape[0])
    current = original.copy()
    found = []
    for _ in range(count):
        spot = run_spotlight(X, current, size, **kwargs)
        k = spot.kernel_weights
        spot.weighted_loss_original = float(k @ original / k.sum())
        found.append(spot)
        current = current * (1.0 - k / k.max())
    return found

"""Planted sub-populations in a real MLP embedding: the audits where the Spotlight used to collapse.

Each problem takes scikit-learn's 1,797 8×8 digits, picks a compact group of 2 % of them (the 36
images of one class nearest, in pixel space, to a seeded member of that class) and corrupts the
training data for that group only, in one of two ways:

- ``flipped``: the group's training labels are flipped to another class;
- ``marked``: the same, and the group's images also carry a spurious feature (a bright 2×2 patch in
  the top-left corner) that the model can latch onto.

The model is the demo notebook's (StandardScaler + MLP with 32 ReLU units). Losses are out-of-fold
cross-entropy against the *true* labels (5-fold), so the group's examples are confidently wrong
(10–15 nats); embeddings are the hidden layer of a model trained on all (corrupted) data. This is
the kind of audit where the paper's optimiser, at its defaults, used to lose every example
(issue "Never lose a spotlight").

Usage::

    python benchmarks/planted_digits.py --out DIR [--problems 20] [--first 0]

writes ``DIR/pNN/{embeddings,losses,group}.npy`` (float32 N × 32, float32 N, int32 indices) and
``DIR/manifest.json`` describing each problem.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

GROUP_FRACTION = 0.02
KINDS = ("flipped", "marked")


def make_model(seed: int = 0):
    """The demo notebook's model: one hidden layer of 32 ReLU units."""
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, max_iter=400, random_state=seed),
    )


def problem(index: int) -> dict:
    """Build planted problem ``index`` (deterministic).

    Returns a dict with ``embeddings`` (N × 32 float32), ``losses`` (N float32, nats), ``group``
    (int32 indices of the planted examples) and ``description`` (source class, target class, kind).
    """
    rng = np.random.default_rng(1000 + index)
    digits = load_digits()
    x = digits.data.astype(np.float64)
    labels = digits.target.astype(np.int64)
    n = len(x)
    kind = KINDS[(index // 10) % len(KINDS)]
    source = index % 10
    target = (source + 1 + int(rng.integers(0, 9))) % 10
    members = np.flatnonzero(labels == source)
    seed_example = members[rng.integers(0, len(members))]
    size = int(round(GROUP_FRACTION * n))
    distance = np.linalg.norm(x[members] - x[seed_example], axis=1)
    group = np.sort(members[np.argsort(distance, kind="stable")[:size]]).astype(np.int32)

    train_labels = labels.copy()
    train_labels[group] = target
    if kind == "marked":
        patch = (np.arange(64).reshape(8, 8)[:2, :2]).ravel()
        x[np.ix_(group, patch)] = 16.0

    proba = np.zeros((n, 10))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=index)
    for train, test in folds.split(x, labels):
        model = make_model(index).fit(x[train], train_labels[train])
        proba[test] = model.predict_proba(x[test])
    losses = -np.log(np.clip(proba[np.arange(n), labels], 1e-12, 1.0))

    final = make_model(index).fit(x, train_labels)
    scaler, mlp = final[0], final[1]
    h = scaler.transform(x)
    for weights, bias in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        h = np.maximum(h @ weights + bias, 0.0)

    group_losses = np.sort(losses[group])[::-1]
    return {
        "embeddings": h.astype(np.float32),
        "losses": losses.astype(np.float32),
        "group": group,
        "description": {
            "index": index,
            "kind": kind,
            "source": source,
            "target": target,
            "n": n,
            "groupSize": int(size),
            "groupMeanLoss": float(group_losses.mean()),
            "meanLoss": float(losses.mean()),
            "top36MeanLoss": float(np.sort(losses)[::-1][:36].mean()),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--problems", type=int, default=20, help="how many problems (default 20)")
    parser.add_argument("--first", type=int, default=0, help="index of the first problem")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for index in range(args.first, args.first + args.problems):
        p = problem(index)
        folder = args.out / f"p{index:02d}"
        folder.mkdir(exist_ok=True)
        np.save(folder / "embeddings.npy", p["embeddings"])
        np.save(folder / "losses.npy", p["losses"])
        np.save(folder / "group.npy", p["group"])
        manifest.append({**p["description"], "folder": folder.name})
        d = p["description"]
        print(
            f"p{index:02d} {d['kind']:8s} {d['source']}→{d['target']}: group mean loss "
            f"{d['groupMeanLoss']:.2f} nats, top-36 mean {d['top36MeanLoss']:.2f}, mean {d['meanLoss']:.3f}",
            flush=True,
        )
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()

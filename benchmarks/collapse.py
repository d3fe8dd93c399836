"""Benchmark g: the collapse guard on 20 planted-digit audits (issue "Never lose a spotlight").

Generates the problems of ``planted_digits.py`` and runs the CLI (``bin/spotlight-search.js``, the
built engine, backend wasm) on each at the paper's defaults (S = 2 %, c = 1, T = 5,000, 5 spotlights),
once with the published optimiser (``--no-collapse-guard``) and once with the guard (the default).
For each run it records whether the search failed and, for region 1: K / (1.05 S), how many of its
36 heaviest examples are planted ones, its weighted loss, and how many steps the guard acted at.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLI = REPO / "bin" / "spotlight-search.js"


def _run_cli(folder: Path, guard: bool) -> dict:
    out = folder / ("guarded.json" if guard else "unguarded.json")
    args = ["node", str(CLI), "--embeddings", str(folder / "embeddings.npy"),
            "--losses", str(folder / "losses.npy"), "--backend", "wasm", "--quiet", "--out", str(out)]
    if not guard:
        args.append("--no-collapse-guard")
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    row: dict = {"exitCode": proc.returncode, "seconds": seconds}
    if proc.returncode not in (0, 3) or not out.exists():
        row["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output"
        return row
    result = json.loads(out.read_text())
    group = set(np.load(folder / "group.npy").tolist())
    size = result["parameters"]["size"]
    spots = result["spotlights"]
    first = spots[0]
    top = np.argsort(-np.asarray(first["kernelWeights"]), kind="stable")[: len(group)]
    row.update({
        "spotlights": len(spots),
        "error": result.get("error", {}).get("message"),
        "k1": first["totalWeight"] / (1.05 * size),
        "planted1": int(sum(1 for i in top if int(i) in group)),
        "weightedLoss1": first["weightedLossOriginal"],
        "guardSteps": [s["guardSteps"] for s in spots],
        "kRatios": [s["totalWeight"] / (1.05 * size) for s in spots],
    })
    return row


def collapse_phase(work: Path, problems: int = 20) -> dict:
    """Generate the problems under ``work`` and run both optimisers on each; return the rows."""
    import planted_digits

    rows = []
    for index in range(problems):
        p = planted_digits.problem(index)
        folder = work / f"p{index:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "embeddings.npy", p["embeddings"])
        np.save(folder / "losses.npy", p["losses"])
        np.save(folder / "group.npy", p["group"])
        rows.append({
            **p["description"],
            "unguarded": _run_cli(folder, guard=False),
            "guarded": _run_cli(folder, guard=True),
        })
        print(f"  collapse p{index:02d}: {rows[-1]['unguarded'].get('error') or 'ok'} → "
              f"{rows[-1]['guarded'].get('error') or 'ok'}", flush=True)
    return {"problems": rows}


def render(section: dict | None) -> list[str]:
    """The Markdown of table g."""
    lines = ["## g. The collapse guard on 20 planted-digit audits", ""]
    if not section:
        return lines + ["Not run.", ""]
    rows = section["problems"]
    lines += [
        "Each problem (benchmarks/planted_digits.py) is the 1,797 real 8×8 digits, the demo's MLP "
        "(32 ReLU units), and one compact group of 36 images (2 %) of one class — the nearest in pixel "
        "space to a seeded member — whose training labels are flipped to another class; in problems "
        "10–19 the group's images also carry a spurious 2×2 corner patch (`marked`). Losses: 5-fold "
        "out-of-fold cross-entropy against the true labels; embeddings: the hidden layer of the model "
        "trained on all (corrupted) data. CLI, wasm backend, the paper's defaults (S = 2 % = 35, c = 1, "
        "T = 5,000, 5 spotlights), once unguarded (`--no-collapse-guard`, the published optimiser) and "
        "once with the guard (the default). K₁ = region 1's total weight / 1.05 S; planted = planted "
        "examples among region 1's 36 heaviest; guard = steps at which the guard acted in each spotlight.",
        "",
        "| problem | kind | group loss (nats) | unguarded | guarded: K₁ | planted | weighted loss | guard steps (spotlights 1–5) | time unguarded / guarded (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        u, g = r["unguarded"], r["guarded"]
        before = "ok" if not u.get("error") else ("failed: " + _short(u["error"]))
        if g.get("error") or "k1" not in g:
            after = ["failed: " + _short(g.get("error", "?"))] + [""] * 3
        else:
            after = [f"{g['k1']:.3f}", f"{g['planted1']}/36", f"{g['weightedLoss1']:.2f}",
                     " · ".join(str(s) for s in g["guardSteps"])]
        lines.append(
            f"| p{r['index']:02d} | {r['kind']} {r['source']}→{r['target']} | {r['groupMeanLoss']:.1f} | {before} | "
            + " | ".join(after) + f" | {u['seconds']:.1f} / {g['seconds']:.1f} |"
        )
    failed_before = sum(1 for r in rows if r["unguarded"].get("error"))
    failed_after = sum(1 for r in rows if r["guarded"].get("error"))
    ok = [r["guarded"] for r in rows if "k1" in r["guarded"] and not r["guarded"].get("error")]
    acted_runs = sum(1 for g in ok if any(g["guardSteps"]))
    acted_spots = sum(sum(1 for s in g["guardSteps"] if s) for g in ok)
    spots = sum(len(g["guardSteps"]) for g in ok)
    in_range = sum(1 for g in ok if 0.97 <= g["k1"] <= 1.10)
    marked = [r["guarded"] for r in rows if r["kind"] == "marked" and "k1" in r["guarded"]]
    lines += [
        "",
        f"**Failed runs: {failed_before} of {len(rows)} unguarded → {failed_after} of {len(rows)} with the guard** "
        f"(target: none). The guard acted in {acted_runs} of {len(ok)} runs ({acted_spots} of {spots} spotlights); "
        f"region 1's K is within [0.97, 1.10] × 1.05 S in {in_range} of {len(ok)}; in the {len(marked)} marked "
        f"problems region 1's 36 heaviest examples hold "
        f"{min((g['planted1'] for g in marked), default=0)}–{max((g['planted1'] for g in marked), default=0)} "
        "of the 36 planted ones. Runs the guard did not act in are the unguarded runs bit for bit "
        "(engine.spec.ts); where the guard acted in a run that also survived unguarded, K had dipped below S "
        "and the two runs differ slightly. A rejected step costs no extra pass over X (the moments at the "
        "kept point are reused).",
        "",
    ]
    return lines


def _short(text: str) -> str:
    for prefix in ("spotlight-search: ", "the search failed: "):
        text = text[len(prefix):] if text.startswith(prefix) else text
    return text[:70].replace("|", "/") + ("…" if len(text) > 70 else "")


if __name__ == "__main__":
    import sys
    import tempfile

    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory(prefix="spotlight-collapse-") as tmp:
        section = collapse_phase(Path(tmp))
    print("\n".join(render(section)))

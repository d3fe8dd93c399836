"""Install the built wheel where users are, and check that it activates.

Builds the wheel from this checkout (its labextension as built, no editable
install), then, for the oldest and the newest JupyterLab that pyproject.toml
allows (``jupyterlab>=OLDEST,<5``), makes a fresh virtual environment, installs
``jupyterlab==OLDEST`` (or the newest ``<5``) and the wheel, starts one server
and opens it in Debian's chromium (activation.mjs): the extension must be
listed, its command must exist and open the panel, and the console must carry
no "Unsatisfied version" warning for a package the extension shares.

Before any install it also checks that package.json's ``jupyterlab.sharedPackages``
require, for every @jupyterlab/* and @lumino/* dependency, the same range as its
``dependencies`` (the builder takes the shared range from there, not from
``dependencies``), and that the @jupyterlab/application range starts at the
pyproject's lower bound.

Usage: python scripts/install-check/check_wheel.py [--only oldest|newest]
Exit code 0 when everything passes; 1 with the failing report otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def fail(message: str) -> None:
    print(f"check_wheel: FAIL: {message}", flush=True)
    sys.exit(1)


def log(message: str) -> None:
    print(f"check_wheel: {message}", flush=True)


def supported_range() -> tuple[str, str]:
    """The ``jupyterlab>=A,<B`` requirement of pyproject's [project] dependencies."""
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'"jupyterlab\s*>=\s*([0-9.]+)\s*,\s*<\s*([0-9.]+)"', project)
    if not match:
        fail('pyproject.toml [project] dependencies must require "jupyterlab>=X,<Y".')
    return match.group(1), match.group(2)


def check_package_json(oldest: str) -> list[str]:
    """Shared ranges agree with dependencies; returns the shared package names."""
    data = json.loads((ROOT / "package.json").read_text())
    deps = data["dependencies"]
    shared = data.get("jupyterlab", {}).get("sharedPackages", {})
    problems = []
    for name, wanted in deps.items():
        if not name.startswith(("@jupyterlab/", "@lumino/")):
            continue
        got = shared.get(name, {}).get("requiredVersion")
        if got != wanted:
            problems.append(
                f"{name}: dependencies say {wanted!r} but jupyterlab.sharedPackages"
                f" requires {got!r} (the bundle uses the latter)"
            )
    app = deps.get("@jupyterlab/application", "")
    if app.lstrip("^~>=") != oldest:
        problems.append(
            f"@jupyterlab/application is {app!r} but pyproject allows jupyterlab>={oldest}"
        )
    if problems:
        fail("package.json ranges disagree:\n  " + "\n  ".join(problems))
    return list(deps)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def build_wheel(out: Path) -> Path:
    """The wheel as `pip wheel .` builds it here (the labextension as built)."""
    if not (ROOT / "jupyterlab_spotlight/labextension/package.json").exists():
        fail("the labextension is not built: run `jlpm build` first.")
    # The development install (`pip install -e .`) leaves a copy of
    # install.json in the labextension folder; the wheel adds the top-level
    # one at that path, and hatchling refuses the duplicate. Set it aside.
    stray = ROOT / "jupyterlab_spotlight/labextension/install.json"
    aside = out.parent / "install.json.dev"
    if stray.exists():
        stray.replace(aside)
    try:
        run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--no-build-isolation", "-w", str(out), str(ROOT)],
            stdout=subprocess.DEVNULL,
        )
    finally:
        if aside.exists():
            aside.replace(stray)
    wheels = list(out.glob("jupyterlab_spotlight-*.whl"))
    if len(wheels) != 1:
        fail(f"expected one wheel in {out}, found {wheels}")
    return wheels[0]


def check_one(label: str, requirement: str, wheel: Path, work: Path, shared: list[str]) -> dict:
    venv = work / f"venv-{label}"
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-compile", requirement, str(wheel)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    home = work / f"home-{label}"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PYTHONNOUSERSITE": "1",
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
    }
    for key in ("JUPYTER_PATH", "PYTHONPATH", "JUPYTER_CONFIG_PATH", "VIRTUAL_ENV"):
        env.pop(key, None)
    version = run(
        [str(venv / "bin" / "jupyter"), "lab", "--version"], env=env, capture_output=True
    ).stdout.strip()
    listing = run(
        [str(venv / "bin" / "jupyter"), "labextension", "list"], env=env, capture_output=True
    )
    listed = "\n".join([listing.stdout, listing.stderr])
    line = next((ln for ln in listed.splitlines() if "jupyterlab-spotlight" in ln), "")
    problems = []
    if not re.search(r"enabled.*OK.*\(python, jupyterlab_spotlight\)", line):
        problems.append(f"`jupyter labextension list` says:\n{listed}")
    log(f"JupyterLab {version} in a fresh venv ({time.monotonic() - started:.0f} s): {line.strip()}")

    port = free_port()
    root = work / f"root-{label}"
    root.mkdir()
    server_log = (work / f"server-{label}.log").open("w")
    cmd = [
        str(venv / "bin" / "jupyter"), "lab", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    server = subprocess.Popen(cmd, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/lab"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    fail(f"JupyterLab {version} did not start:\n"
                         + (work / f"server-{label}.log").read_text()[-3000:])
                time.sleep(0.5)
        browser = subprocess.run(
            ["node", str(HERE / "activation.mjs"), url],
            env={**env, "SPOTLIGHT_SHARED": ",".join(shared)},
            text=True, capture_output=True, timeout=180,
        )
        report = json.loads(browser.stdout) if browser.stdout.strip() else {}
        report["label"] = label
        report["jupyterlab"] = version
        report["seconds"] = round(time.monotonic() - started, 1)
        if browser.returncode != 0:
            print(browser.stdout, browser.stderr, flush=True)
            problems.append("the extension did not activate cleanly in the browser (report above).")
        if problems:
            fail(f"JupyterLab {version}: " + "\n".join(problems))
        return report
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["oldest", "newest"])
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    oldest, below = supported_range()
    shared = check_package_json(oldest)
    targets = {"oldest": f"jupyterlab=={oldest}", "newest": f"jupyterlab<{below}"}
    if args.only:
        targets = {args.only: targets[args.only]}

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="spotlight-wheel-"))
    try:
        wheel = build_wheel(work / "dist")
        log(f"built {wheel.name} ({wheel.stat().st_size / 2**20:.1f} MiB) in "
            f"{time.monotonic() - started:.0f} s")
        for label, requirement in targets.items():
            report = check_one(label, requirement, wheel, work, shared)
            log(
                f"JupyterLab {report['jupyterlab']} ({label}): activated, command and panel present, "
                f"no 'Unsatisfied version' warning for our {len(shared)} shared packages "
                f"({len(report['otherUnsatisfied'])} for others) — {report['seconds']} s"
            )
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    log(f"passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

"""`make demo` installs requirements-dev.txt: every module the demo notebook imports must come from it.

A fresh clone's `make demo` once opened a notebook that failed on its third cell (`import pandas`, which only
the test requirements installed).
"""

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Import names whose distribution is named differently.
DISTRIBUTIONS = {"sklearn": "scikit-learn"}


def demo_imports() -> set[str]:
    """Top-level modules imported by the demo notebook's code cells."""
    notebook = json.loads((ROOT / "examples" / "digits_audit.ipynb").read_text())
    names: set[str] = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def demo_requirements() -> set[str]:
    """Distribution names in requirements-dev.txt."""
    out = set()
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            out.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return out


def test_the_demo_imports_only_what_make_demo_installs() -> None:
    imports = demo_imports()
    assert {"numpy", "pandas", "sklearn"} <= imports
    third_party = {name for name in imports if name not in sys.stdlib_module_names and name != "jupyterlab_spotlight"}
    missing = {DISTRIBUTIONS.get(name, name) for name in third_party} - demo_requirements()
    assert not missing, f"the demo imports {sorted(missing)}, which requirements-dev.txt does not install"

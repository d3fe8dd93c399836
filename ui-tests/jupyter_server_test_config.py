"""JupyterLab server configuration for the galata UI tests.

It starts from galata's own configuration (no token, a temporary root
folder, the galata helper extension) and adds what this machine needs.
"""

import getpass
import os
import shutil
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

# The tests run the real demo notebook: copy the examples into the server root.
_root = Path(tempfile.mkdtemp(prefix="spotlight-ui-"))
shutil.copytree(Path(__file__).parent.parent / "examples", _root / "examples")
c.ServerApp.root_dir = str(_root)  # noqa: F821
c.LabApp.extension_manager = "readonly"  # noqa: F821  (the default queries PyPI)
c.ServerApp.port = int(os.environ.get("SPOTLIGHT_UI_PORT", "8888"))  # noqa: F821
if getpass.getuser() == "root":
    c.ServerApp.allow_root = True  # noqa: F821
c.ServerApp.log_level = "WARN"  # noqa: F821

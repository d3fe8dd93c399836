"""Jupyter Notebook 7 server configuration for the Notebook 7 UI test.

No token, no XSRF check (tests only), a temporary root folder holding a copy
of the examples, and the app exposed as `window.jupyterapp`. Galata's helper
extension is not loaded: it is made for JupyterLab's shell.
"""

import getpass
import os
import shutil
import tempfile
from pathlib import Path

_root = Path(tempfile.mkdtemp(prefix="spotlight-nb7-"))
shutil.copytree(Path(__file__).parent.parent / "examples", _root / "examples")
c.ServerApp.root_dir = str(_root)  # noqa: F821
c.ServerApp.port = int(os.environ.get("SPOTLIGHT_NB_PORT", "8889"))  # noqa: F821
c.ServerApp.port_retries = 0  # noqa: F821
c.ServerApp.open_browser = False  # noqa: F821
c.IdentityProvider.token = ""  # noqa: F821
c.ServerApp.password = ""  # noqa: F821
c.ServerApp.disable_check_xsrf = True  # noqa: F821
c.JupyterNotebookApp.expose_app_in_browser = True  # noqa: F821
c.JupyterNotebookApp.workspaces_dir = tempfile.mkdtemp(prefix="spotlight-nb7-ws-")  # noqa: F821
if getpass.getuser() == "root":
    c.ServerApp.allow_root = True  # noqa: F821
c.ServerApp.log_level = "WARN"  # noqa: F821

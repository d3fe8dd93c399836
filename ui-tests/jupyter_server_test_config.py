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


def _without_notebook_lab_extension(handler, page_config):
    """Keep JupyterLab's pages as users without Notebook 7 see them.

    The test environment has `notebook` installed (for the Notebook 7 test), whose
    lab extension adds "Open in…" buttons to JupyterLab's notebook toolbar.
    """
    disabled = list(page_config.get("disabledExtensions", []))
    page_config["disabledExtensions"] = [*disabled, "@jupyter-notebook/lab-extension"]
    return page_config


c.ServerApp.tornado_settings = {"page_config_hook": _without_notebook_lab_extension}  # noqa: F821

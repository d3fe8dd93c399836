"""JupyterLab server configuration for the benchmarks (benchmarks/run.py).

Galata's test configuration (no token, no XSRF check, the app exposed as
``window.jupyterapp``, temporary workspaces), rooted in the folder that
run.py prepares, on the port it chose, with the read-only extension manager
(the default one queries PyPI). Local use only: it removes every protection.
"""

import getpass
import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.root_dir = os.environ["SPOTLIGHT_BENCH_ROOT"]  # noqa: F821
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ["SPOTLIGHT_BENCH_PORT"])  # noqa: F821
c.LabApp.extension_manager = "readonly"  # noqa: F821
c.ServerApp.log_level = "WARN"  # noqa: F821
if getpass.getuser() == "root":
    c.ServerApp.allow_root = True  # noqa: F821
# Settings the benchmark changes (the transfer budget of table l) stay in this
# run's folder: the user's own settings are neither read nor changed. The
# news question is answered there (its notification would cover the panel).
_settings = os.path.join(os.environ["SPOTLIGHT_BENCH_ROOT"], ".user-settings")
os.makedirs(os.path.join(_settings, "@jupyterlab", "apputils-extension"), exist_ok=True)
with open(
    os.path.join(_settings, "@jupyterlab", "apputils-extension", "notification.jupyterlab-settings"),
    "w",
) as _file:
    _file.write('{"fetchNews": "false"}\n')
c.LabApp.user_settings_dir = _settings  # noqa: F821

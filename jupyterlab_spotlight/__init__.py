"""jupyterlab-spotlight: find systematic errors of ML models inside JupyterLab.

The Python package ships the prebuilt JupyterLab extension, the
kernel-side helper (:mod:`jupyterlab_spotlight.kernel_helper`) that the
extension injects into a notebook's kernel, and a jupyter_server extension
(:mod:`jupyterlab_spotlight.handlers`) that serves the helper's transfer files
to the browser.
"""

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - only when the package was not built
    import warnings

    warnings.warn(
        "Importing 'jupyterlab_spotlight' outside a proper installation.",
        stacklevel=2,
    )
    __version__ = "dev"


def _jupyter_labextension_paths():
    """Tell JupyterLab where the prebuilt extension lives."""
    return [{"src": "labextension", "dest": "jupyterlab-spotlight"}]


def _jupyter_server_extension_points():
    """Tell jupyter_server that this module is a server extension."""
    return [{"module": "jupyterlab_spotlight"}]


def _load_jupyter_server_extension(server_app):
    """Register the transfer handler (``/jupyterlab-spotlight/transfer/<token>``).

    Args:
        server_app: the running ``jupyter_server.serverapp.ServerApp``.
    """
    from .handlers import setup_handlers

    setup_handlers(server_app.web_app)
    server_app.log.info("Registered the jupyterlab_spotlight server extension (file transfers)")

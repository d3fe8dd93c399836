"""jupyterlab-spotlight: find systematic errors of ML models inside JupyterLab.

The Python package ships the prebuilt JupyterLab extension and the
kernel-side helper (:mod:`jupyterlab_spotlight.kernel_helper`) that the
extension injects into a notebook's kernel.
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

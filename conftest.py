"""pytest configuration: pytest-jupyter's server fixtures (``jp_fetch``, ``jp_serverapp``)
for the server extension's tests, on a server that requires authentication everywhere
and loads this package's extension (as the extension template sets it up)."""

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_spotlight": True},
            "allow_unauthenticated_access": False,
        }
    }

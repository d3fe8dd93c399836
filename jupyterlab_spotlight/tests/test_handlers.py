"""The server extension's transfer handler, against a real jupyter_server (pytest-jupyter).

The kernel helper writes the files (as in a kernel), the server serves them; both use
``tempfile.gettempdir()``, which each test points at its own ``tmp_path``.
"""

import json
import os
import pathlib
import tempfile
import zlib

import numpy as np
import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

import jupyterlab_spotlight
from jupyterlab_spotlight import handlers
from jupyterlab_spotlight.kernel_helper import Helper

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Point ``tempfile.gettempdir()`` (helper and server alike) at this test's folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def write_transfer(array, request_id="f1"):
    """Let a helper write ``array`` as a file transfer; return (helper, fetch-begin reply, path)."""
    helper = Helper({"X": array})
    (begin, _), = helper.handle({"version": 1, "op": "fetch-begin", "request_id": request_id,
                                 "name": "X", "role": "embeddings", "via": "file"})
    assert begin["op"] == "fetch-begin" and begin["via"] == "file", begin
    return helper, begin, pathlib.Path(Helper.transfer_directory()) / begin["token"]


@pytest.fixture
def raw_get(http_server_client, jp_base_url):
    """A function: GET ``transfer/<name>`` with ``name`` sent as is (not escaped) and only
    the given headers (no auth by default); resolves to (status code, body)."""

    async def get(name, headers=None):
        response = await http_server_client.fetch(
            "%sjupyterlab-spotlight/transfer/%s" % (jp_base_url, name),
            headers=headers or {}, raise_error=False, request_timeout=20)
        return response.code, response.body

    return get


def auth_headers(jp_serverapp):
    return {"Authorization": "token %s" % jp_serverapp.identity_provider.token}


async def test_serves_a_written_file_bit_exact_once_then_deletes_it(jp_fetch, private_tmp):
    # Larger than the handler's 4 MiB reads, and not a multiple of them.
    array = np.random.default_rng(0).standard_normal((5000, 301)).astype(np.float32)
    helper, begin, path = write_transfer(array)
    assert path.is_file()
    response = await jp_fetch("jupyterlab-spotlight", "transfer", begin["token"])
    assert response.code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert int(response.headers["Content-Length"]) == array.nbytes == begin["nbytes"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.body == array.astype("<f4").tobytes()
    assert zlib.crc32(response.body) == begin["checksum"]
    assert not path.exists()
    with pytest.raises(HTTPClientError) as again:
        await jp_fetch("jupyterlab-spotlight", "transfer", begin["token"])
    assert again.value.code == 404
    (end, _), = helper.handle({"version": 1, "op": "fetch-end", "request_id": "f1"})
    assert end["op"] == "fetch-end"  # deleting an already served file is harmless


async def test_unknown_token_is_404(jp_fetch, private_tmp):
    write_transfer(np.ones((3, 2), np.float32))  # the folder exists, with another file
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("jupyterlab-spotlight", "transfer", "0" * 32)
    assert error.value.code == 404


async def test_no_folder_is_404(jp_fetch, private_tmp):
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("jupyterlab-spotlight", "transfer", "0" * 32)
    assert error.value.code == 404


@pytest.mark.parametrize("name", [
    "..",
    "..%2F..%2Fetc%2Fpasswd",
    "a%2Fb",
    "%2E%2E",
    "A" * 32,
    "0" * 31,
    "0" * 33,
    "0" * 32 + ".part",
])
async def test_names_that_are_not_tokens_are_refused(jp_serverapp, raw_get, private_tmp, name):
    _, begin, path = write_transfer(np.ones((3, 2), np.float32))
    code, body = await raw_get(name, auth_headers(jp_serverapp))
    assert code == 400, (name, code, body)
    assert "32 lowercase hex digits" in json.loads(body)["message"]
    assert path.is_file()  # nothing was served or deleted


@pytest.mark.parametrize("name", ["a/b", "../../etc/passwd", "0/" + "0" * 32])
async def test_paths_with_slashes_do_not_reach_the_handler(jp_serverapp, raw_get, private_tmp, name):
    _, begin, path = write_transfer(np.ones((3, 2), np.float32))
    code, _ = await raw_get(name, auth_headers(jp_serverapp))
    assert code == 404, (name, code)
    assert path.is_file()


async def test_a_symlink_is_never_followed(jp_fetch, private_tmp):
    secret = private_tmp / "secret.bin"
    secret.write_bytes(b"not for the browser")
    write_transfer(np.ones((3, 2), np.float32))  # creates the private folder
    link = pathlib.Path(Helper.transfer_directory()) / ("a" * 32)
    link.symlink_to(secret)
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("jupyterlab-spotlight", "transfer", "a" * 32)
    assert error.value.code == 404
    assert secret.read_bytes() == b"not for the browser"
    assert link.is_symlink()


async def test_a_symlinked_folder_is_not_served(jp_fetch, private_tmp):
    _, begin, path = write_transfer(np.ones((3, 2), np.float32))
    folder = pathlib.Path(Helper.transfer_directory())
    elsewhere = private_tmp / "elsewhere"
    folder.rename(elsewhere)
    folder.symlink_to(elsewhere)
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("jupyterlab-spotlight", "transfer", begin["token"])
    assert error.value.code == 404
    assert (elsewhere / begin["token"]).is_file()


async def test_a_folder_open_to_others_is_not_served(jp_fetch, private_tmp):
    _, begin, path = write_transfer(np.ones((3, 2), np.float32))
    os.chmod(path.parent, 0o755)
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("jupyterlab-spotlight", "transfer", begin["token"])
    assert error.value.code == 404
    assert path.is_file()


async def test_a_fifo_is_not_served(jp_fetch, private_tmp):
    write_transfer(np.ones((3, 2), np.float32))
    fifo = pathlib.Path(Helper.transfer_directory()) / ("b" * 32)
    os.mkfifo(fifo, 0o600)
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("jupyterlab-spotlight", "transfer", "b" * 32)
    assert error.value.code == 404


async def test_unauthenticated_requests_are_refused(jp_serverapp, raw_get, private_tmp):
    _, begin, path = write_transfer(np.ones((3, 2), np.float32))
    code, _ = await raw_get(begin["token"])
    assert code == 403
    code, _ = await raw_get(begin["token"], {"Authorization": "token wrong"})
    assert code == 403
    assert path.is_file()
    code, body = await raw_get(begin["token"], auth_headers(jp_serverapp))
    assert code == 200 and len(body) == 24


class KernelsReadOnly(Authorizer):
    """Allows everything except executing in kernels."""

    def is_authorized(self, handler, user, action, resource):
        return not (resource == "kernels" and action == "execute")


class TestWithoutKernelPermission:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config["ServerApp"]["authorizer_class"] = KernelsReadOnly
        return jp_server_config

    async def test_refused_without_execute_on_kernels(self, jp_fetch, private_tmp):
        _, begin, path = write_transfer(np.ones((3, 2), np.float32))
        with pytest.raises(HTTPClientError) as error:
            await jp_fetch("jupyterlab-spotlight", "transfer", begin["token"])
        assert error.value.code == 403
        assert path.is_file()


def test_server_and_helper_agree_on_folder_and_token(private_tmp):
    assert handlers.transfer_directory() == Helper.transfer_directory()
    assert handlers.transfer_directory() == str(private_tmp / ("jupyterlab-spotlight-%d" % os.getuid()))
    assert handlers.TRANSFER_DIRECTORY_PREFIX == Helper.TRANSFER_DIRECTORY_PREFIX
    assert handlers.TOKEN_PATTERN.pattern == Helper.TOKEN_PATTERN.pattern


def test_the_package_declares_and_enables_the_server_extension():
    assert jupyterlab_spotlight._jupyter_server_extension_points() == [{"module": "jupyterlab_spotlight"}]
    config = json.loads((REPO / "jupyter-config" / "server-config" / "jupyterlab_spotlight.json").read_text())
    assert config == {"ServerApp": {"jpserver_extensions": {"jupyterlab_spotlight": True}}}
    assert '"jupyter-config/server-config" = "etc/jupyter/jupyter_server_config.d"' in \
        (REPO / "pyproject.toml").read_text()

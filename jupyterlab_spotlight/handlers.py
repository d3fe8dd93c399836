"""The server side of the file transport (docs/protocol.md, "File transport").

With ``via: "file"`` the kernel helper writes a fetched array to
``<tempdir>/jupyterlab-spotlight-<uid>/<token>`` (a folder of mode 0700, a file of mode
0600, a random 128-bit hex token as its name) instead of sending it through the kernel's
comm. ``GET <base_url>/jupyterlab-spotlight/transfer/<token>`` streams that file to the
browser once and deletes it: one HTTP response instead of many websocket messages
through the kernel's ZMQ sockets and the server.

The handler serves only names matching the token pattern, only from that folder, only
when the folder is a real directory owned by the server's user and closed to others,
and only regular files owned by that user; it never follows a symlink. Anything else is
404 (an unknown or already served token included) or 400 (a name that is not a token).
Reading a kernel's data is a kernel permission, so the request needs jupyter_server's
``execute`` permission on ``kernels`` besides an authenticated user.
"""

import asyncio
import os
import re
import stat
import tempfile

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

# The same two constants as the kernel helper's (``TRANSFER_DIRECTORY_PREFIX`` and
# ``TOKEN_PATTERN`` in kernel_helper.py, which cannot be imported here without numpy);
# jupyterlab_spotlight/tests/test_handlers.py checks that they agree.
TRANSFER_DIRECTORY_PREFIX = "jupyterlab-spotlight-"
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
# Bytes read from the file and written to the response at a time.
READ_BYTES = 4 << 20


def transfer_directory():
    """The folder the kernel helper writes transfer files to.

    Returns:
        ``<tempfile.gettempdir()>/jupyterlab-spotlight-<uid>`` (it may not exist).
    """
    return os.path.join(tempfile.gettempdir(), "%s%d" % (TRANSFER_DIRECTORY_PREFIX, os.getuid()))


def open_transfer(token):
    """Open the transfer file ``token`` for reading and delete its name.

    The file stays readable through the returned descriptor; its name is gone at once,
    so a token is served at most once and nothing is left if the download stops.

    Args:
        token: 32 lowercase hex digits (checked by the caller).
    Returns:
        ``(fd, nbytes)``: an open descriptor, which the caller closes, and the file size.
    Raises:
        FileNotFoundError: no such file, or the folder or file fails a check: the folder is
            missing, a symlink, another user's or open to group/others; the file is a
            symlink (never followed), not a regular file, or another user's.
    """
    uid = os.getuid()
    cloexec = getattr(os, "O_CLOEXEC", 0)
    try:
        dir_fd = os.open(transfer_directory(), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | cloexec)
    except OSError as exc:
        raise FileNotFoundError("no transfer folder (%s)" % exc) from exc
    try:
        info = os.fstat(dir_fd)
        if info.st_uid != uid or info.st_mode & 0o077:
            raise FileNotFoundError("the transfer folder is not private to uid %d" % uid)
        try:
            fd = os.open(token, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | cloexec, dir_fd=dir_fd)
        except OSError as exc:  # ENOENT, or ELOOP for a symlink
            raise FileNotFoundError("no transfer file %s (%s)" % (token, exc.strerror)) from exc
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != uid:
            os.close(fd)
            raise FileNotFoundError("transfer %s is not a regular file of uid %d" % (token, uid))
        os.unlink(token, dir_fd=dir_fd)
        return fd, info.st_size
    finally:
        os.close(dir_fd)


class TransferHandler(APIHandler):
    """``GET /jupyterlab-spotlight/transfer/<token>``: stream a kernel's transfer file once.

    Responses: 200 with the file's bytes (``application/octet-stream``, ``Content-Length``
    = the file size, not cached); 400 when ``<token>`` is not 32 lowercase hex digits; 404
    when there is no such file to serve (see ``open_transfer``); 403 without the
    ``execute`` permission on ``kernels`` or without authentication.
    """

    auth_resource = "kernels"

    @web.authenticated
    @authorized("execute", resource="kernels")
    async def get(self, token):
        """Stream the file named ``token``, then close it (its name is already deleted)."""
        if not TOKEN_PATTERN.fullmatch(token):
            raise web.HTTPError(400, "A transfer token is 32 lowercase hex digits.")
        try:
            fd, nbytes = open_transfer(token)
        except FileNotFoundError as exc:
            raise web.HTTPError(404, "No transfer to serve: %s." % exc) from exc
        loop = asyncio.get_running_loop()
        try:
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Length", str(nbytes))
            self.set_header("Cache-Control", "no-store")
            sent = 0
            while sent < nbytes:
                chunk = await loop.run_in_executor(None, os.read, fd, min(READ_BYTES, nbytes - sent))
                if not chunk:
                    raise OSError("transfer %s ended after %d of %d bytes" % (token, sent, nbytes))
                self.write(chunk)
                await self.flush()
                sent += len(chunk)
        except StreamClosedError:
            self.log.info("jupyterlab-spotlight: the browser stopped transfer %s (cancelled)", token)
            return
        finally:
            os.close(fd)
        self.finish(set_content_type="application/octet-stream")


def setup_handlers(web_app):
    """Add the transfer route under the server's ``base_url``.

    Args:
        web_app: the jupyter_server tornado application.
    """
    route = url_path_join(web_app.settings["base_url"], "jupyterlab-spotlight", "transfer", "([^/]+)")
    web_app.add_handlers(".*$", [(route, TransferHandler)])

"""The server side of the file transport (docs/protocol.md, "File transport").

With ``via: "file"`` the kernel helper writes a fetched array to part files
``<tempdir>/jupyterlab-spotlight-<uid>/<token>-<k>`` (a folder of mode 0700, files of mode
0600, a random 128-bit hex token) instead of sending it through the kernel's comm. It
replies as soon as part 0 is written and writes the others while the browser downloads;
a part not yet written exists as an empty placeholder ``<token>-<k>.part``.
``GET <base_url>/jupyterlab-spotlight/transfer/<token>`` streams parts 0, 1, ... in one
response, waiting for a part whose placeholder exists, deleting each part as it is
served, and ends after the last part: one HTTP response instead of many websocket
messages through the kernel's ZMQ sockets and the server.

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

# The same constants as the kernel helper's (``TRANSFER_DIRECTORY_PREFIX``,
# ``TOKEN_PATTERN`` and the part names ``<token>-<k>`` in kernel_helper.py, which cannot be
# imported here without numpy); jupyterlab_spotlight/tests/test_handlers.py checks that
# they agree.
TRANSFER_DIRECTORY_PREFIX = "jupyterlab-spotlight-"
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
PART_PATTERN = re.compile(r"(?P<token>[0-9a-f]{32})-(?P<index>[0-9]{1,6})(?P<partial>\.part)?")
# Bytes read from a part and written to the response at a time.
READ_BYTES = 4 << 20
# How often to look for a part that is being written, and how long to wait for one
# without any part arriving (a kernel that died mid-transfer) before ending the response.
POLL_SECONDS = 0.002
STALL_SECONDS = 30.0


def transfer_directory():
    """The folder the kernel helper writes transfer files to.

    Returns:
        ``<tempfile.gettempdir()>/jupyterlab-spotlight-<uid>`` (it may not exist).
    """
    return os.path.join(tempfile.gettempdir(), "%s%d" % (TRANSFER_DIRECTORY_PREFIX, os.getuid()))


def _open_directory():
    """Open the transfer folder after checking it is private; return its descriptor.

    Raises:
        FileNotFoundError: the folder is missing, a symlink, another user's, or open to
            group/others.
    """
    uid = os.getuid()
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        dir_fd = os.open(transfer_directory(), flags)
    except OSError as exc:
        raise FileNotFoundError("no transfer folder (%s)" % exc) from exc
    info = os.fstat(dir_fd)
    if info.st_uid != uid or info.st_mode & 0o077:
        os.close(dir_fd)
        raise FileNotFoundError("the transfer folder is not private to uid %d" % uid)
    return dir_fd


def open_part(token, index):
    """Open part ``index`` of transfer ``token`` for reading and delete its name.

    The part stays readable through the returned descriptor; its name is gone at once,
    so a part is served at most once and nothing is left if the download stops.

    Args:
        token: 32 lowercase hex digits (checked by the caller).
        index: the part number, from 0.
    Returns:
        ``(fd, nbytes)`` for a written part, which the caller closes; ``(None, True)``
        when the part is not written yet but its placeholder exists (wait and ask again);
        ``(None, False)`` when there is no such part (the transfer ended, or it is unknown).
    Raises:
        FileNotFoundError: the folder fails a check (see ``_open_directory``).
        OSError: the part is a symlink (never followed), not a regular file, or another
            user's.
    """
    uid = os.getuid()
    name = "%s-%d" % (token, index)
    dir_fd = _open_directory()
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                         dir_fd=dir_fd)
        except FileNotFoundError:
            try:
                info = os.stat(name + ".part", dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                return None, False
            return None, stat.S_ISREG(info.st_mode) and info.st_uid == uid
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != uid:
            os.close(fd)
            raise OSError("transfer part %s is not a regular file of uid %d" % (name, uid))
        os.unlink(name, dir_fd=dir_fd)
        return fd, info.st_size
    finally:
        os.close(dir_fd)


def delete_parts(token):
    """Delete every remaining file of transfer ``token`` (parts and placeholders).

    The server calls this when it stops serving a transfer before its end (the browser
    went away, or no part arrived in time): the browser no longer wants the files, and a
    kernel that is still writing stops when a placeholder disappears and cleans up what
    it wrote since.

    Args:
        token: 32 lowercase hex digits (checked by the caller).
    Returns:
        The number of files deleted (0 when the folder fails a check).
    """
    try:
        dir_fd = _open_directory()
    except FileNotFoundError:
        return 0
    removed = 0
    try:
        for name in os.listdir(dir_fd):
            match = PART_PATTERN.fullmatch(name)
            if match and match.group("token") == token:
                try:
                    os.unlink(name, dir_fd=dir_fd)
                    removed += 1
                except FileNotFoundError:
                    pass  # the kernel deleted it meanwhile
    finally:
        os.close(dir_fd)
    return removed


class TransferHandler(APIHandler):
    """``GET /jupyterlab-spotlight/transfer/<token>``: stream a kernel's transfer parts once.

    Responses: 200 with the bytes of parts 0, 1, ... in order (``application/octet-stream``,
    chunked: the size is known to the browser from the kernel's reply, not cached); the
    response ends after the last part, or early when the kernel stops writing (it deleted
    the placeholders) or no part arrives for ``STALL_SECONDS``, and the browser, missing
    bytes, falls back to the comm. 400 when ``<token>`` is not 32 lowercase hex digits; 404
    when there is no part 0 to serve (see ``open_part``); 403 without the ``execute``
    permission on ``kernels`` or without authentication.
    """

    auth_resource = "kernels"

    def initialize(self):
        self._client_gone = False

    def on_connection_close(self):
        """The browser went away (a cancel): stop waiting for parts."""
        self._client_gone = True

    @web.authenticated
    @authorized("execute", resource="kernels")
    async def get(self, token):
        """Stream the parts of transfer ``token`` in order (their names are deleted as they open)."""
        if not TOKEN_PATTERN.fullmatch(token):
            raise web.HTTPError(400, "A transfer token is 32 lowercase hex digits.")
        loop = asyncio.get_running_loop()
        index = 0
        last_part_at = loop.time()
        complete = False
        try:
            while not self._client_gone:
                try:
                    fd, nbytes = open_part(token, index)
                except OSError as exc:
                    if index == 0:
                        raise web.HTTPError(404, "No transfer to serve: %s." % exc) from exc
                    self.log.warning("jupyterlab-spotlight: transfer %s stopped: %s", token, exc)
                    break
                if fd is None:
                    if not nbytes:  # no placeholder either: the transfer is complete or gone
                        if index == 0:
                            raise web.HTTPError(404, "No transfer to serve: no file %s-0." % token)
                        complete = True
                        break
                    if loop.time() - last_part_at > STALL_SECONDS:
                        self.log.warning(
                            "jupyterlab-spotlight: transfer %s stalled at part %d; ending it", token, index)
                        break
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                if index == 0:
                    self.set_header("Content-Type", "application/octet-stream")
                    self.set_header("Cache-Control", "no-store")
                try:
                    await self._stream(fd, nbytes, loop)
                finally:
                    os.close(fd)
                index += 1
                last_part_at = loop.time()
        except StreamClosedError:
            self._client_gone = True
        finally:
            if index > 0 and not complete:
                delete_parts(token)  # abandoned: nobody will ask for the rest
        if self._client_gone:
            self.log.info("jupyterlab-spotlight: the browser stopped transfer %s (cancelled)", token)
            return
        self.finish(set_content_type="application/octet-stream")

    async def _stream(self, fd, nbytes, loop):
        """Write one open part to the response, ``READ_BYTES`` at a time."""
        sent = 0
        while sent < nbytes:
            chunk = await loop.run_in_executor(None, os.read, fd, min(READ_BYTES, nbytes - sent))
            if not chunk:
                raise OSError("a transfer part ended after %d of %d bytes" % (sent, nbytes))
            self.write(chunk)
            await self.flush()
            sent += len(chunk)


def setup_handlers(web_app):
    """Add the transfer route under the server's ``base_url``.

    Args:
        web_app: the jupyter_server tornado application.
    """
    route = url_path_join(web_app.settings["base_url"], "jupyterlab-spotlight", "transfer", "([^/]+)")
    web_app.add_handlers(".*$", [(route, TransferHandler)])

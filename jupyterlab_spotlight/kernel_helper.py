# jupyterlab-spotlight kernel helper (wire protocol version 1, see docs/protocol.md).
#
# The JupyterLab extension sends this file's source text to the notebook's kernel as a
# silent execute request (executed in the user's ``__main__`` namespace), then calls
# ``_jupyterlab_spotlight_register()``, which registers the comm target
# ``jupyterlab-spotlight``.  The user's environment therefore needs only numpy (plus
# whatever libraries their own variables come from), not this package.
#
# Rules this file keeps because of that injection:
# * it binds only two names in the user's namespace, ``_JupyterlabSpotlightHelper`` and
#   ``_jupyterlab_spotlight_register`` (everything else lives inside the class or the
#   functions; there is deliberately no module docstring, which would overwrite the
#   user's ``__doc__``);
# * it imports only the standard library and numpy when it runs; pandas and torch are
#   never imported, they are used through ``sys.modules`` when a variable is of their
#   type (detected by ``type(obj).__module__``);
# * it prints nothing and can be injected any number of times;
# * variable names from the browser are data: they are parsed by a small grammar and
#   resolved with dict lookups, ``getattr`` and ``__getitem__``, never evaluated.
#
# Tests use the class directly: ``Helper(namespace).handle(msg, buffers)`` returns the
# replies as ``[(data, buffers), ...]``.


def _jupyterlab_spotlight_define():
    """Build the helper class; the imports stay local so the user's namespace is untouched.

    Returns:
        The class ``_JupyterlabSpotlightHelper`` (see its docstring).
    """
    import keyword
    import math
    import os
    import platform
    import re
    import secrets
    import shutil
    import stat
    import sys
    import tempfile
    import time
    import types
    import warnings
    import zlib

    import numpy as np

    root_pattern = re.compile(r"[^\W\d]\w*")
    step_pattern = re.compile(
        r"""\.(?P<attr>[^\W\d]\w*)"""
        r"""|\['(?P<key1>[^'\\]*)'\]"""
        r"""|\["(?P<key2>[^"\\]*)"\]"""
        r"""|\[(?P<index>-?[0-9]{1,18})\]"""
    )
    skipped_types = (
        types.ModuleType,
        types.FunctionType,
        types.BuiltinFunctionType,
        types.MethodType,
        type,
    )
    kind_of_numpy = {
        "f": "float", "i": "int", "u": "int", "b": "bool",
        "U": "str", "S": "str", "T": "str", "O": "object",
    }

    class Failure(Exception):
        """A request that cannot be served; becomes an ``error`` reply.

        Args:
            code: one of the protocol's error codes (``bad-name``, ``too-large``, ...).
            message: a full sentence naming the variable(s) and saying what to do.
        """

        def __init__(self, code, message):
            super().__init__(message)
            self.code = code
            self.message = message

    class _JupyterlabSpotlightHelper:
        """Serve protocol-v1 requests against a namespace (normally the user's ``user_ns``).

        ``handle(msg, buffers)`` takes one request's ``data`` dict and binary buffers and
        returns the replies, a list of ``(data, buffers)`` pairs.  It never raises: every
        failure becomes an ``{"op": "error", "code": ..., "message": ...}`` reply.

        State kept between requests: prepared fetch arrays (by transfer id, at most
        ``MAX_TRANSFERS``, oldest evicted first; with the file transport, also the file
        written for it, deleted when the transfer ends or is evicted) and partially received
        uploads (same cap).
        """

        TARGET = "jupyterlab-spotlight"
        PROTOCOL = 1
        VERSION = "0.1.0"
        ROLES = ("embeddings", "losses", "predictions", "labels", "examples", "metadata")
        FLOAT_ROLES = ("embeddings", "losses", "predictions")
        CODE_ROLES = ("labels", "metadata")
        DEFAULT_MAX_BYTES = 1 << 30
        DEFAULT_CHUNK_BYTES = 4 << 20
        MIN_CHUNK_BYTES = 64 << 10
        MAX_CHUNK_BYTES = 32 << 20
        MAX_TRANSFERS = 4
        MAX_EXAMPLES = 200
        MAX_TEXT_CHARS = 10000
        MAX_TABLE_COLUMNS = 100
        MAX_LISTED_COLUMNS = 1000
        MAX_CATEGORIES = 65536
        MAX_FLOAT_METADATA_VALUES = 256
        # Metadata tables (``fetch-begin`` with ``table``, the ``columns`` op): at most this
        # many columns; integer columns with at most CATEGORICAL_INT_VALUES distinct values
        # are categorical, others continuous.
        MAX_METADATA_COLUMNS = 2000
        CATEGORICAL_INT_VALUES = 20
        VECTOR_SCAN_ROWS = 100
        # Words of text examples (the ``tokens`` op): the most frequent MAX_VOCABULARY words
        # in at least MIN_WORD_DOCUMENTS documents.
        MAX_VOCABULARY = 5000
        MIN_WORD_DOCUMENTS = 3
        MAX_NAME_CHARS = 500
        MAX_COMPONENTS = 1024
        PCA_BLOCK_VALUES = 1 << 22
        UPLOAD_DTYPES = {"float32": "<f4", "int32": "<i4", "uint8": "u1"}
        TRANSPORTS = ("comm", "file")
        # The file transport (docs/protocol.md): files named by a random 128-bit token in a
        # private folder that the server extension (jupyterlab_spotlight/handlers.py, which
        # repeats these two constants; a test checks they agree) serves once, then deletes.
        TRANSFER_DIRECTORY_PREFIX = "jupyterlab-spotlight-"
        TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
        STALE_SECONDS = 3600
        FILE_WRITE_BYTES = 4 << 20
        FILE_FREE_MARGIN_BYTES = 64 << 20
        SKIPPED_NAMES = frozenset(("In", "Out", "exit", "quit", "get_ipython"))
        OPS = {
            "hello": "_op_hello",
            "list": "_op_list",
            "check": "_op_check",
            "columns": "_op_columns",
            "tokens": "_op_tokens",
            "fetch-begin": "_op_fetch_begin",
            "fetch-chunk": "_op_fetch_chunk",
            "fetch-end": "_op_fetch_end",
            "examples": "_op_examples",
            "upload-begin": "_op_upload_begin",
            "upload-chunk": "_op_upload_chunk",
            "upload-end": "_op_upload_end",
        }

        def __init__(self, namespace, hidden=()):
            """Args:
                namespace: the dict variables are read from and uploads are bound into.
                hidden: names never listed (the kernel passes IPython's ``user_ns_hidden``).
            """
            self.namespace = namespace
            self.hidden = hidden
            self.transfers = {}
            self.uploads = {}

        # ------------------------------------------------------------------ dispatch

        def handle(self, msg, buffers=()):
            """Answer one request.

            Args:
                msg: the request ``data`` (``{"version": 1, "op": ..., "request_id": ...}``).
                buffers: the request's binary buffers (bytes or memoryviews).
            Returns:
                ``[(reply_data, reply_buffers), ...]``; buffers are memoryviews or bytes.
            """
            request_id = msg.get("request_id") if isinstance(msg, dict) else None
            if not isinstance(request_id, str):
                request_id = None
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    op = self._check_envelope(msg, request_id)
                    return [getattr(self, self.OPS[op])(msg, request_id, list(buffers or ()))]
            except Failure as failure:
                return [(self._error(request_id, failure.code, failure.message), [])]
            except Exception as exc:  # a bug or an exotic object: report, never crash the comm
                message = (
                    "internal error in the jupyterlab-spotlight kernel helper while handling "
                    "%s: %s: %s; please report it with the variable's type."
                    % (self._quote(str(msg.get("op"))), type(exc).__name__, exc)
                )
                return [(self._error(request_id, "internal", message), [])]

        def close(self):
            """Free every prepared transfer (deleting its file) and pending upload (the comm closed)."""
            for key in list(self.transfers):
                self._drop_transfer(key)
            self.uploads.clear()

        def _check_envelope(self, msg, request_id):
            """Validate ``version``, ``op`` and ``request_id``; return the op name."""
            if not isinstance(msg, dict):
                raise Failure("bad-request", "a request must be a JSON object.")
            if msg.get("version") != self.PROTOCOL:
                raise Failure(
                    "bad-request",
                    "this kernel helper speaks protocol version %d but the request has "
                    "version %r; reload JupyterLab so the extension and helper match."
                    % (self.PROTOCOL, msg.get("version")),
                )
            op = msg.get("op")
            if op not in self.OPS:
                raise Failure(
                    "bad-request",
                    "unknown op %r; this helper answers %s."
                    % (op, ", ".join(sorted(self.OPS))),
                )
            if request_id is None:
                raise Failure("bad-request", "every request needs a string request_id.")
            return op

        def _reply(self, op, request_id, **fields):
            data = {"version": self.PROTOCOL, "op": op, "request_id": request_id}
            data.update(fields)
            return data

        def _error(self, request_id, code, message):
            return self._reply("error", request_id, code=code, message=message)

        # ------------------------------------------------------------------ fields

        def _int_field(self, msg, key, default=None, minimum=0, maximum=None):
            """An integer field (JSON numbers that are whole floats are accepted)."""
            value = msg.get(key, default)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if value is None or isinstance(value, bool) or not isinstance(value, int):
                raise Failure("bad-request", "field %r must be an integer." % key)
            if value < minimum or (maximum is not None and value > maximum):
                raise Failure(
                    "bad-request",
                    "field %r is %d, outside %d..%s."
                    % (key, value, minimum, "" if maximum is None else maximum),
                )
            return value

        def _name_field(self, msg, key):
            """A variable-name field: any string (its grammar is checked when resolving)."""
            value = msg.get(key)
            if not isinstance(value, str):
                raise Failure("bad-request", "field %r must be a string (a variable name)." % key)
            return value

        def _role_field(self, msg, allowed):
            role = msg.get("role")
            if role not in allowed:
                raise Failure(
                    "bad-request",
                    "role %r cannot be fetched; use one of %s." % (role, ", ".join(allowed)),
                )
            return role

        # ------------------------------------------------------------------ formatting

        @staticmethod
        def _quote(text):
            """``'text'``, or ``"text"`` when it contains a single quote; long text is cut."""
            if len(text) > 80:
                text = text[:77] + "..."
            return '"%s"' % text if "'" in text else "'%s'" % text

        @staticmethod
        def _count(n):
            return format(int(n), ",")

        @staticmethod
        def _shape_text(shape):
            shape = tuple(int(s) for s in shape)
            return "(%d,)" % shape if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))

        @staticmethod
        def _size_text(nbytes):
            for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
                if nbytes >= scale:
                    return "%.1f %s" % (nbytes / scale, unit)
            return "%d bytes" % nbytes

        def _indices_text(self, indices):
            return ", ".join(self._count(i) for i in indices)

        # ------------------------------------------------------------------ names

        def _parse_name(self, name):
            """Parse ``ident(.attr | ['key'] | ["key"] | [int])*`` into steps.

            Returns:
                ``[("root", ident), ("attr", name) | ("item", str_or_int), ...]``.
            Raises:
                Failure ``bad-name`` for anything else: calls, operators, spaces, escapes,
                or any identifier or attribute starting with ``_``.
            """
            grammar = (
                "use a variable name, optionally followed by .attribute, ['key'], "
                "[\"key\"] or [0] (no calls, operators, spaces, or names starting with '_')."
            )
            if not name:
                raise Failure("bad-name", "the variable name is empty; " + grammar)
            shown = self._quote(name)
            if len(name) > self.MAX_NAME_CHARS:
                raise Failure("bad-name", "the name %s is too long; %s" % (shown, grammar))
            match = root_pattern.match(name)
            if match is None or not match.group().isidentifier():
                raise Failure("bad-name", "%s does not start with a variable name; %s" % (shown, grammar))
            steps = [("root", match.group())]
            position = match.end()
            while position < len(name):
                match = step_pattern.match(name, position)
                if match is None:
                    raise Failure(
                        "bad-name",
                        "%s is not a plain variable reference (unexpected %r at position %d); %s"
                        % (shown, name[position], position, grammar),
                    )
                if match.group("attr") is not None:
                    steps.append(("attr", match.group("attr")))
                elif match.group("index") is not None:
                    steps.append(("item", int(match.group("index"))))
                else:
                    key = match.group("key1")
                    steps.append(("item", key if key is not None else match.group("key2")))
                position = match.end()
            for step, value in steps:
                if step in ("root", "attr") and (value.startswith("_") or not value.isidentifier()):
                    raise Failure(
                        "bad-name",
                        "%s uses %r; private and special names (starting with '_') are not "
                        "accepted; %s" % (shown, value, grammar),
                    )
            return steps

        def _resolve(self, name):
            """Look ``name`` up in the namespace without evaluating anything.

            Raises:
                Failure ``bad-name`` (see ``_parse_name``) or ``not-found``.
            """
            steps = self._parse_name(name)
            root = steps[0][1]
            if root not in self.namespace:
                raise Failure(
                    "not-found",
                    "no variable named %s in the kernel — was the cell that defines it run?"
                    % self._quote(root),
                )
            obj = self.namespace[root]
            path = root
            for step, value in steps[1:]:
                try:
                    if step == "attr":
                        obj = getattr(obj, value)
                        path += "." + value
                    else:
                        obj = obj[value]
                        path += "[%r]" % (value,)
                except Exception as exc:
                    what = "attribute %r" % value if step == "attr" else "entry [%r]" % (value,)
                    raise Failure(
                        "not-found",
                        "%s has no %s (%s: %s); check the name %s."
                        % (self._quote(path), what, type(exc).__name__, exc, self._quote(name)),
                    )
            return obj

        # ------------------------------------------------------------------ describing

        @staticmethod
        def _type_name(obj):
            """Qualified class name: ``numpy.ndarray``, ``torch.Tensor``, ``pandas.DataFrame``."""
            cls = type(obj)
            module = getattr(cls, "__module__", None) or ""
            qualname = getattr(cls, "__qualname__", cls.__name__)
            if module == "builtins":
                return qualname
            top = module.split(".")[0]
            if top in ("numpy", "pandas", "torch") and getattr(sys.modules.get(top), qualname, None) is cls:
                return top + "." + qualname
            return module + "." + qualname

        @staticmethod
        def _family(obj):
            """``numpy``, ``torch``, ``frame``, ``series``, ``list``, ``arraylike`` or ``other``."""
            if isinstance(obj, np.ndarray):
                return "numpy"
            cls = type(obj)
            tops = {(getattr(c, "__module__", None) or "").split(".")[0] for c in cls.__mro__}
            if "torch" in tops:
                torch = sys.modules.get("torch")
                if torch is not None and isinstance(obj, torch.Tensor):
                    return "torch"
            if "pandas" in tops:
                pandas = sys.modules.get("pandas")
                if pandas is not None and isinstance(obj, pandas.DataFrame):
                    return "frame"
                if pandas is not None and isinstance(obj, pandas.Series):
                    return "series"
            if isinstance(obj, (list, tuple)):
                return "list"
            if hasattr(cls, "__array__") or hasattr(cls, "__array_interface__"):
                return "arraylike"
            return "other"

        @staticmethod
        def _dtype_kind(dtype):
            """Map a numpy / pandas / torch dtype to float, int, bool, str, category,
            object or other."""
            if isinstance(dtype, np.dtype):
                if dtype.names:
                    return "record"
                if dtype.kind in "mM":
                    return "time"
                return kind_of_numpy.get(dtype.kind, "other")
            name = str(dtype)
            if name.startswith("torch."):
                if name == "torch.bool":
                    return "bool"
                if getattr(dtype, "is_floating_point", False):
                    return "float"
                if getattr(dtype, "is_complex", False) or "qint" in name:
                    return "other"
                return "int"
            if name == "category":
                return "category"
            if name.startswith(("datetime64", "timedelta64")):
                return "time"
            if name.startswith(("str", "string")):
                return "str"
            kind = getattr(dtype, "kind", None)
            if kind == "O":
                return "object"
            return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(kind, "other")

        @staticmethod
        def _scalar_kind(value):
            """Kind and dtype name of one list element."""
            if isinstance(value, (str, bytes, np.bytes_)):
                return "str", "str"
            if isinstance(value, (bool, np.bool_)):
                return "bool", "bool"
            if isinstance(value, np.number):
                return kind_of_numpy.get(value.dtype.kind, "other"), str(value.dtype)
            if isinstance(value, int):
                return "int", "int64"
            if isinstance(value, float):
                return "float", "float64"
            return "object", "object"

        def _describe(self, obj):
            """Metadata of ``obj`` from attributes only (never reads or copies data).

            Returns:
                dict with family, type, shape (tuple or None), dtype (str or None),
                kind (see ``_dtype_kind``, or None), nbytes (int or None), length.
            """
            family = self._family(obj)
            shape = dtype = kind = nbytes = None
            length = None
            vectors = False
            if family == "numpy":
                shape, dtype, nbytes = obj.shape, str(obj.dtype), obj.nbytes
                kind = self._dtype_kind(obj.dtype)
                if kind == "object" and obj.ndim == 1 and obj.size:
                    kind = "str" if self._scalar_kind(obj[0])[0] == "str" else "object"
                    inner = self._vector_row(obj[0])
                    if inner is not None:
                        shape, kind, dtype = (shape[0],) + inner["shape"], inner["kind"], inner["dtype"]
                        vectors = True
            elif family == "torch":
                shape = tuple(int(s) for s in obj.shape)
                dtype = str(obj.dtype).replace("torch.", "", 1)
                kind = self._dtype_kind(obj.dtype)
                nbytes = int(obj.element_size()) * int(obj.numel())
            elif family == "series":
                shape, dtype = (len(obj),), str(obj.dtype)
                kind = self._dtype_kind(obj.dtype)
                nbytes = int(obj.memory_usage(index=False, deep=False))
                if kind == "object" and len(obj):
                    kind = "str" if self._scalar_kind(obj.iloc[0])[0] == "str" else "object"
                    inner = self._vector_row(obj.iloc[0])
                    if inner is not None:
                        shape, kind, dtype = (shape[0],) + inner["shape"], inner["kind"], inner["dtype"]
                        vectors = True
            elif family == "frame":
                shape = tuple(obj.shape)
                nbytes = int(obj.memory_usage(index=False, deep=False).sum())
                names = sorted({str(d) for d in obj.dtypes})
                kinds = {self._dtype_kind(d) for d in obj.dtypes}
                dtype = names[0] if len(names) == 1 else ("mixed" if names else None)
                if kinds and kinds <= {"float", "int", "bool"}:
                    kind = "float" if "float" in kinds else ("int" if "int" in kinds else "bool")
                elif kinds:
                    kind = "object"
            elif family == "list":
                n = len(obj)
                shape = (n,)
                if n:
                    first = obj[0]
                    kind, dtype = self._scalar_kind(first)
                    if isinstance(first, (list, tuple)):
                        shape = (n, len(first))
                        kind, dtype = self._scalar_kind(first[0]) if len(first) else (None, None)
                    elif kind == "object" and self._family(first) in ("numpy", "torch", "series", "arraylike"):
                        inner = self._describe(first)
                        if inner["shape"] is not None:
                            shape = (n,) + tuple(inner["shape"])
                            kind, dtype = inner["kind"], inner["dtype"]
                    vectors = len(shape) > 1
            elif family == "arraylike":
                shape, dtype, kind, nbytes = self._describe_arraylike(obj)
            elif isinstance(obj, (dict, set, frozenset)):
                length = len(obj)
            if shape is not None and len(shape):
                length = int(shape[0])
            return {
                "family": family, "type": self._type_name(obj),
                "shape": None if shape is None else tuple(int(s) for s in shape),
                "dtype": dtype, "kind": kind,
                "nbytes": None if nbytes is None else int(nbytes), "length": length,
                "vectors": vectors,
            }

        def _vector_row(self, value):
            """Shape, kind and dtype of one row when it is a vector (array, tensor, list of
            numbers), from attributes and the first element only; None for anything else."""
            if isinstance(value, (str, bytes, dict)) or value is None:
                return None
            family = self._family(value)
            if family in ("numpy", "torch", "arraylike", "series"):
                inner = self._describe(value)
                if inner["shape"] and inner["kind"] in ("float", "int", "bool"):
                    return {"shape": tuple(inner["shape"]), "kind": inner["kind"], "dtype": inner["dtype"]}
                return None
            if family == "list" and len(value) and not isinstance(value[0], (list, tuple)):
                kind, dtype = self._scalar_kind(value[0])
                if kind in ("float", "int", "bool"):
                    return {"shape": (len(value),), "kind": kind, "dtype": dtype}
            return None

        def _describe_arraylike(self, obj):
            """Shape, dtype name, kind and nbytes of a foreign array (jax, xarray, ...)."""
            try:
                shape = tuple(int(s) for s in obj.shape)
            except Exception:
                return None, None, None, None
            try:
                dtype = np.dtype(obj.dtype)
            except Exception:
                dtype = getattr(obj, "dtype", None)
                if dtype is None:
                    return shape, None, None, None
                nbytes = getattr(obj, "nbytes", None)
                return (shape, str(dtype), self._dtype_kind(dtype),
                        nbytes if isinstance(nbytes, int) else None)
            nbytes = getattr(obj, "nbytes", None)
            if not isinstance(nbytes, int):
                nbytes = math.prod(shape) * dtype.itemsize
            return shape, str(dtype), self._dtype_kind(dtype), nbytes

        @staticmethod
        def _image_layout(shape):
            """``nhw``, ``nhwc`` or ``nchw`` for image-like shapes, else None."""
            if len(shape) == 3:
                return "nhw"
            if len(shape) == 4 and shape[3] in (1, 3, 4):
                return "nhwc"
            if len(shape) == 4 and shape[1] in (1, 3, 4):
                return "nchw"
            return None

        def _roles(self, family, shape, kind):
            """Roles a variable can play, from its family, shape and kind only."""
            if shape is None or kind is None:
                return []
            roles = set()
            ndim = len(shape)
            numeric = kind in ("float", "int")
            if ndim == 2 and numeric and shape[0] >= 2 and shape[1] >= 1:
                roles.add("embeddings")
            if ndim == 1 or (ndim == 2 and shape[1] == 1):
                if numeric:
                    roles.update(("losses", "predictions"))
                if kind in ("int", "bool", "str", "category"):
                    roles.add("labels")
                if kind == "str" and ndim == 1:
                    roles.add("examples")
                if kind in ("str", "category", "int", "bool", "float", "object", "time"):
                    roles.add("metadata")
            if kind in ("float", "int", "bool") and ndim in (3, 4) and self._image_layout(shape):
                roles.add("examples")
            if family == "frame":
                roles.update(("examples", "metadata"))
            if kind == "record" and ndim == 1:
                roles.add("metadata")
            return [role for role in self.ROLES if role in roles]

        def _column_path(self, name, column):
            """The accessor for a DataFrame column (``df['a']``, ``df[0]``) or None."""
            if isinstance(column, str) and "\\" not in column:
                if "'" not in column:
                    return "%s['%s']" % (name, column)
                if '"' not in column:
                    return '%s["%s"]' % (name, column)
            if isinstance(column, (int, np.integer)) and not isinstance(column, (bool, np.bool_)):
                return "%s[%d]" % (name, column)
            return None

        def _columns(self, name, frame):
            """IColumn entries for the first ``MAX_LISTED_COLUMNS`` columns of a DataFrame."""
            rows = len(frame)
            columns = []
            for position, (column, dtype) in enumerate(frame.dtypes.items()):
                if position >= self.MAX_LISTED_COLUMNS:
                    break
                kind = self._dtype_kind(dtype)
                if kind == "object" and rows:
                    kind = "str" if self._scalar_kind(frame.iat[0, position])[0] == "str" else "object"
                column_kind = self._column_kind(kind, frame, position)
                columns.append({
                    "name": str(column),
                    "path": self._column_path(name, column),
                    "dtype": str(dtype),
                    "roles": ["embeddings"] if column_kind == "vector" and rows >= 2
                    else [] if column_kind == "vector" else self._roles("series", (rows,), kind),
                    "kind": column_kind,
                })
            return columns

        def _variable(self, name, obj):
            """One IVariable entry of the ``list`` reply."""
            info = self._describe(obj)
            entry = {
                "name": name, "type": info["type"],
                "shape": None if info["shape"] is None else list(info["shape"]),
                "dtype": info["dtype"], "nbytes": info["nbytes"], "length": info["length"],
                "roles": self._roles(info["family"], info["shape"], info["kind"]),
            }
            if info["family"] == "frame":
                entry["columns"] = self._columns(name, obj)
            elif isinstance(obj, dict) and obj and len(obj) <= self.MAX_METADATA_COLUMNS:
                lengths = set()
                for value in obj.values():
                    inner = self._describe(value)
                    lengths.add(inner["shape"][0] if inner["shape"] else None)
                if len(lengths) == 1 and None not in lengths:
                    entry["roles"] = ["metadata"]
            return entry

        def _column_kind(self, kind, frame, position):
            """A listed column's kind from its dtype and first value: ``categorical``,
            ``continuous``, ``integer`` (categorical or continuous by its number of distinct
            values, decided when it is checked), ``vector`` (one array per row: embeddings) or
            ``unsupported``."""
            if kind in ("str", "category", "bool"):
                return "categorical"
            if kind in ("float", "time"):
                return "continuous"
            if kind == "int":
                return "integer"
            if kind == "object":
                first = frame.iat[0, position] if len(frame) else None
                return "vector" if self._vector_row(first) is not None else "categorical"
            return "unsupported"

        # ------------------------------------------------------------------ checks

        def _inspect(self, name, role):
            """Resolve ``name`` and check it can play ``role`` without reading its data.

            Checks: found, array-like, ndim (embeddings 2-D; other roles 1-D or N×1),
            non-empty, dtype suitable for the role.

            Returns:
                ``(obj, info)`` with ``info`` from ``_describe``.
            Raises:
                Failure ``bad-name``, ``not-found``, ``not-array``, ``bad-ndim``, ``empty``,
                ``non-numeric`` or ``bad-dtype``.
            """
            obj = self._resolve(name)
            info = self._describe(obj)
            what = "%s %s" % (role, self._quote(name))
            if info["shape"] is None and info["family"] == "arraylike":
                try:
                    obj = np.asarray(obj)
                except Exception as exc:
                    raise Failure(
                        "not-array",
                        "%s (a %s) could not be converted to a NumPy array (%s); convert it "
                        "yourself, e.g. np.asarray(...), and pass the result."
                        % (what, info["type"], exc),
                    )
                info = self._describe(obj)
            shape = info["shape"]
            if shape is None:
                raise Failure(
                    "not-array",
                    "%s is a %s, not an array; pick a NumPy array, torch tensor, pandas "
                    "Series/DataFrame or list." % (what, info["type"]),
                )
            if role == "embeddings" and (info["vectors"] or self._holds_vectors(obj, info)):
                shape = self._vector_rows(name, role, self._rows(obj, info))
                info = dict(info, shape=shape, vectors=True)
            self._check_ndim(name, role, shape, info["family"])
            if math.prod(shape) == 0:
                raise Failure(
                    "empty",
                    "%s is empty (shape %s); it needs at least one value — was it filled?"
                    % (what, self._shape_text(shape)),
                )
            self._check_kind(name, role, obj, info)
            return obj, info

        def _holds_vectors(self, obj, info):
            """Whether a 1-D sequence of objects (Series, object array, list) has a vector
            among its first ``VECTOR_SCAN_ROWS`` rows (the first row may be missing)."""
            if info["shape"] is None or len(info["shape"]) != 1 or info["kind"] not in ("object", None):
                return False
            if info["family"] not in ("series", "numpy", "list"):
                return False
            head = obj.iloc[:self.VECTOR_SCAN_ROWS] if info["family"] == "series" else obj[:self.VECTOR_SCAN_ROWS]
            return any(self._vector_row(value) is not None or
                       self._family(value) in ("numpy", "torch", "list") for value in head)

        def _rows(self, obj, info):
            """The rows of a Series, 1-D object array or list, as a Python list (no copies of
            the rows themselves)."""
            if info["family"] == "series":
                return obj.tolist()
            return list(obj)

        @staticmethod
        def _missing(value):
            """Whether one value is missing: None, NaN, pandas NA or NaT."""
            if value is None:
                return True
            if isinstance(value, (float, np.floating)):
                return value != value
            return type(value).__name__ in ("NAType", "NaTType")

        def _vector_rows(self, name, role, rows, out=None):
            """Check (and with ``out``, copy) per-row vectors: each row a 1-D array, tensor,
            Series or list of numbers, all of the same length D.

            Args:
                name, role: for messages.
                rows: a list of N rows.
                out: None to only check, or an N × D array to fill (its dtype converts).
            Returns:
                The stacked shape ``(N, D)``.
            Raises:
                Failure ``empty`` (no rows), ``not-array`` (a missing row, a row that is not
                a vector, or rows of different lengths: the first bad row and both lengths),
                ``bad-ndim`` (a row that is not 1-D: its shape) or ``non-numeric``.
            """
            what = "%s %s" % (role, self._quote(name))
            if not rows:
                raise Failure("empty", "%s has no rows; it needs one vector per example." % what)
            width = None
            for i, row in enumerate(rows):
                if self._missing(row):
                    raise Failure(
                        "not-array",
                        "%s has no vector at row %s (the value is missing); every example needs "
                        "an embedding — drop that row (from the other variables too) or compute "
                        "its embedding." % (what, self._count(i)),
                    )
                family = self._family(row)
                if family in ("numpy", "torch", "series", "arraylike", "list"):
                    row_info = self._describe(row)
                    shape = row_info["shape"]
                else:
                    shape = None
                if shape is None:
                    raise Failure(
                        "not-array",
                        "%s row %s is a %s, not a vector; each row must be a 1-D array, tensor "
                        "or list of numbers." % (what, self._count(i), self._type_name(row)),
                    )
                if len(shape) != 1:
                    raise Failure(
                        "bad-ndim",
                        "%s row %s has shape %s; each row must be a 1-D vector — flatten the rows "
                        "first, e.g. [r.reshape(-1) for r in %s]."
                        % (what, self._count(i), self._shape_text(shape), name),
                    )
                if width is None:
                    width = shape[0]
                elif shape[0] != width:
                    raise Failure(
                        "not-array",
                        "%s is ragged: row 0 has %s values but row %s has %s; every row needs "
                        "the same length — pad or truncate the vectors, or recompute them with "
                        "one model." % (what, self._count(width), self._count(i), self._count(shape[0])),
                    )
                if out is not None:
                    if family == "torch":
                        row = row.detach().to("cpu").float().numpy()
                    elif family == "series":
                        row = row.to_numpy()
                    try:
                        out[i] = np.asarray(row)
                    except (TypeError, ValueError) as exc:
                        raise Failure(
                            "non-numeric",
                            "%s row %s holds values that are not numbers (%s); each row must be "
                            "a vector of numbers." % (what, self._count(i), exc),
                        )
            return (len(rows), width)

        def _check_ndim(self, name, role, shape, family):
            what = "%s %s" % (role, self._quote(name))
            got = "got a scalar" if not shape else "got shape %s" % self._shape_text(shape)
            if role == "embeddings":
                if len(shape) == 2:
                    return
                if len(shape) == 1:
                    hint = "if each value is one feature, pass %s.reshape(-1, 1)" % name
                elif len(shape) > 2:
                    hint = "flatten the trailing dimensions, e.g. %s.reshape(len(%s), -1)" % (name, name)
                else:
                    hint = "pick an N × D array"
                raise Failure("bad-ndim", "%s must be 2-D (N × D); %s. To use it, %s." % (what, got, hint))
            if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
                return
            if family == "frame":
                hint = "pick one column, e.g. %s['column']" % name
            elif len(shape) == 2:
                hint = "pick or compute one value per row, e.g. %s[:, 0] or %s.argmax(axis=1)" % (name, name)
            elif len(shape) > 2:
                hint = "reduce it to one value per example first"
            else:
                hint = "pick an array with one value per example"
            raise Failure("bad-ndim", "%s must be 1-D (N,) or N × 1; %s. To use it, %s." % (what, got, hint))

        def _check_kind(self, name, role, obj, info):
            what = "%s %s" % (role, self._quote(name))
            kind = info["kind"]
            if role in self.FLOAT_ROLES:
                if info["family"] == "frame" and kind not in ("float", "int", "bool"):
                    bad = [
                        self._quote(str(c)) for c, d in obj.dtypes.items()
                        if self._dtype_kind(d) not in ("float", "int", "bool")
                    ]
                    raise Failure(
                        "non-numeric",
                        "%s has non-numeric columns %s; select the numeric ones, e.g. "
                        "%s.select_dtypes('number')." % (what, ", ".join(bad[:5]), name),
                    )
                if kind in ("str", "category"):
                    raise Failure(
                        "non-numeric",
                        "%s has dtype %s, which is not numeric; %s must be numbers — convert "
                        "them, e.g. %s.astype(float), or pick another variable."
                        % (what, info["dtype"], role, name),
                    )
                if kind in ("other", None, "time", "record"):
                    raise Failure(
                        "non-numeric",
                        "%s has dtype %s, which cannot be used as %s (complex, dates and "
                        "other types are not supported); convert it to real numbers first, "
                        "e.g. np.abs(%s) for complex values." % (what, info["dtype"], role, name),
                    )
            elif kind in ("other", None, "record") or (kind == "time" and role == "labels"):
                raise Failure(
                    "bad-dtype",
                    "%s has dtype %s, which cannot be used as %s; use integers, booleans, "
                    "strings or a categorical." % (what, info["dtype"], role),
                )

        def _check_size(self, name, role, shape, max_bytes):
            """Refuse before converting when the 4-byte-per-value result exceeds max_bytes."""
            nbytes = 4 * math.prod(shape)
            if nbytes > max_bytes:
                raise Failure(
                    "too-large",
                    "%s %s would take %s as %s (shape %s), more than the %s limit; sample "
                    "rows or reduce dimensions before auditing, e.g. %s[::10]."
                    % (role, self._quote(name), self._size_text(nbytes),
                       "float32" if role in self.FLOAT_ROLES else "int32",
                       self._shape_text(shape), self._size_text(max_bytes), name),
                )

        def _check_finite(self, name, role, values, source_dtype):
            """Raise ``non-finite`` if float32 ``values`` (1-D or 2-D) hold NaN or ±Inf.

            Scans in blocks of about a million values so no full-size mask is allocated.
            """
            n = values.shape[0]
            row_len = values.shape[1] if values.ndim == 2 else 1
            step = max(1, (1 << 20) // max(1, row_len))
            nans = infs = 0
            first = []
            for start in range(0, n, step):
                block = values[start:start + step]
                finite = np.isfinite(block)
                if finite.all():
                    continue
                bad = int(block.size - np.count_nonzero(finite))
                block_nans = int(np.count_nonzero(np.isnan(block)))
                nans += block_nans
                infs += bad - block_nans
                if len(first) < 5:
                    rows = ~finite.all(axis=1) if values.ndim == 2 else ~finite
                    first.extend(int(i) + start for i in np.flatnonzero(rows)[:5 - len(first)])
            if not nans and not infs:
                return
            parts = []
            if nans:
                parts.append("%s NaN" % self._count(nans))
            if infs:
                parts.append("%s infinite" % self._count(infs))
            overflow = ""
            if infs and np.dtype(source_dtype).itemsize > 4:
                overflow = " (values beyond ±3.4e38 overflow float32)"
            where = "rows" if values.ndim == 2 else "indices"
            raise Failure(
                "non-finite",
                "%s %s contains %s value(s)%s, first at %s %s; Spotlight needs finite numbers "
                "— remove those rows (from the other variables too) or fill them, e.g. "
                "np.nan_to_num(%s)." % (role, self._quote(name), " and ".join(parts), overflow,
                                         where, self._indices_text(first), name),
            )

        def _check_non_negative(self, name, values):
            negative = np.flatnonzero(values < 0)
            if negative.size:
                raise Failure(
                    "negative",
                    "losses %s has %s negative value(s), first at indices %s; losses must be "
                    "≥ 0 (e.g. per-example cross-entropy) — if these are log-likelihoods pass "
                    "-%s, if they are scores use them as predictions instead."
                    % (self._quote(name), self._count(negative.size),
                       self._indices_text(negative[:5]), name),
                )

        # ------------------------------------------------------------------ conversion

        def _to_numpy(self, name, obj, info, role):
            """A NumPy view (when possible) or copy of ``obj``.

            Torch tensors are detached and moved to the CPU, converted on their device to
            float32 for float roles (this also handles bfloat16) or to float64 for float
            labels/metadata.  pandas nullable dtypes become float64 with NaN for missing.

            Raises:
                Failure ``not-array`` when the object cannot become a regular array.
            """
            family = info["family"]
            if info.get("vectors") and family in ("series", "numpy", "list"):
                rows = self._rows(obj, info)
                shape = self._vector_rows(name, role, rows)
                out = np.empty(shape, dtype=np.float32 if role in self.FLOAT_ROLES else np.float64)
                self._vector_rows(name, role, rows, out)
                return out
            if family == "numpy":
                return obj
            if family == "torch":
                torch = sys.modules["torch"]
                tensor = obj.detach()
                if tensor.layout != torch.strided:
                    tensor = tensor.to_dense()
                if role in self.FLOAT_ROLES:
                    tensor = tensor.to("cpu", torch.float32)
                elif tensor.is_floating_point():
                    tensor = tensor.to("cpu", torch.float64)
                else:
                    tensor = tensor.to("cpu")
                return tensor.numpy()
            if family == "series":
                if isinstance(obj.dtype, np.dtype):
                    return obj.to_numpy()
                if info["kind"] in ("float", "int", "bool"):
                    return obj.to_numpy(dtype="float64", na_value=np.nan)
                return obj.to_numpy(dtype=object, na_value=None)
            if family == "frame":
                if all(isinstance(d, np.dtype) for d in obj.dtypes):
                    return obj.to_numpy()
                return obj.to_numpy(dtype="float64", na_value=np.nan)
            try:
                if family == "list" and self._family(obj[0]) in ("numpy", "torch", "series", "arraylike"):
                    return np.stack([self._to_numpy(name, item, self._describe(item), role) for item in obj])
                if family == "list" and info["kind"] in ("str", "object"):
                    array = np.array(obj, dtype=object)
                else:
                    array = np.asarray(obj)
            except Exception as exc:
                raise Failure(
                    "not-array",
                    "%s %s could not be converted to a regular array (%s); make sure every "
                    "row has the same length, or convert it yourself with np.asarray."
                    % (role, self._quote(name), exc),
                )
            return array

        def _convert(self, name, role, obj, info):
            """Convert to the wire array for ``role``.

            Returns:
                ``(array, categories)``: a C-contiguous little-endian float32 array
                (embeddings N×D; losses/predictions N) or int32 codes (labels/metadata N)
                and ``categories`` (list of str, or None when the codes are the values).
            Raises:
                Failure ``bad-ndim``, ``non-numeric``, ``non-finite``, ``negative``,
                ``bad-dtype`` or ``not-array``.
            """
            if role in self.CODE_ROLES and info["kind"] == "category":
                categorical = obj.cat if info["family"] == "series" else obj
                codes = np.ascontiguousarray(np.asarray(categorical.codes), dtype="<i4")
                return codes, [str(c) for c in categorical.categories]
            array = self._to_numpy(name, obj, info, role)
            self._check_ndim(name, role, array.shape, info["family"])
            if role != "embeddings" and array.ndim == 2:
                array = array[:, 0]
            if role in self.FLOAT_ROLES:
                if array.dtype.kind not in "biuf":
                    try:
                        array = array.astype(np.float64)
                    except (TypeError, ValueError):
                        raise Failure(
                            "non-numeric",
                            "%s %s holds values that are not numbers (dtype %s); convert them, "
                            "e.g. %s.astype(float)." % (role, self._quote(name), array.dtype, name),
                        )
                source_dtype = array.dtype
                values = np.ascontiguousarray(array, dtype="<f4")
                if source_dtype.kind == "f":
                    self._check_finite(name, role, values, source_dtype)
                if role == "losses":
                    self._check_non_negative(name, values)
                return values, None
            return self._codes(name, role, array)

        def _codes(self, name, role, array):
            """int32 codes for labels/metadata from a 1-D array (see ``_convert``)."""
            kind = array.dtype.kind
            what = "%s %s" % (role, self._quote(name))
            if kind in "USTO":
                return self._encode(name, role, array)
            if kind == "f":
                finite = np.isfinite(array)
                if role == "labels":
                    if not finite.all():
                        bad = np.flatnonzero(~finite)
                        raise Failure(
                            "non-finite",
                            "%s has %s missing (NaN) or infinite value(s), first at indices %s; "
                            "every example needs a label — remove those rows (from the other "
                            "variables too) or fill them." % (what, self._count(bad.size),
                                                             self._indices_text(bad[:5])),
                        )
                    fractional = np.flatnonzero(array != np.round(array))
                    if fractional.size:
                        raise Failure(
                            "bad-dtype",
                            "%s has non-integer values (e.g. %r at index %s); labels must be "
                            "integer class ids, booleans or strings — if these are scores, use "
                            "them as predictions." % (what, float(array[fractional[0]]),
                                                      self._count(fractional[0])),
                        )
                    if array.min() >= -2**31 and array.max() < 2**31:
                        return np.ascontiguousarray(array, dtype="<i4"), None
                return self._encode(name, role, array)
            if kind in "iub":
                if role == "labels" and (
                    kind == "b" or (int(array.min()) >= -2**31 and int(array.max()) < 2**31)
                ):
                    return np.ascontiguousarray(array, dtype="<i4"), None
                return self._encode(name, role, array)
            raise Failure(
                "bad-dtype",
                "%s has dtype %s, which cannot be used as %s; use integers, booleans, strings "
                "or a categorical." % (what, array.dtype, role),
            )

        def _encode(self, name, role, array):
            """Encode a 1-D array as int32 codes into sorted string categories.

            Missing values (None, NaN, pandas NA) get code -1.  Float metadata is accepted
            only with at most ``MAX_FLOAT_METADATA_VALUES`` distinct values.

            Raises:
                Failure ``bad-dtype`` for continuous float metadata or more than
                ``MAX_CATEGORIES`` distinct values.
            """
            kind = array.dtype.kind
            codes = np.full(array.shape[0], -1, dtype="<i4")
            if kind == "O":
                keys = []
                distinct = set()
                for value in array.tolist():
                    if value is None or (isinstance(value, (float, np.floating)) and value != value) \
                            or type(value).__name__ in ("NAType", "NaTType"):
                        keys.append(None)
                        continue
                    key = self._category(value)
                    keys.append(key)
                    distinct.add(key)
                    if len(distinct) > self.MAX_CATEGORIES:
                        break
                self._check_categories(name, role, len(distinct))
                categories = sorted(distinct)
                lookup = {key: code for code, key in enumerate(categories)}
                codes[:] = [-1 if key is None else lookup[key] for key in keys]
                return codes, categories
            present = np.isfinite(array) if kind == "f" else np.ones(array.shape[0], dtype=bool)
            values, inverse = np.unique(array[present], return_inverse=True)
            if kind == "f" and role == "metadata" and values.size > self.MAX_FLOAT_METADATA_VALUES:
                raise Failure(
                    "bad-dtype",
                    "%s %s is continuous (%s distinct values); metadata needs a few groups — "
                    "bin it first, e.g. pd.cut(%s, 10) or np.digitize(%s, bins)."
                    % (role, self._quote(name), self._count(values.size), name, name),
                )
            self._check_categories(name, role, values.size)
            codes[present] = inverse.reshape(-1)
            return codes, [self._category(value) for value in values.tolist()]

        @staticmethod
        def _category(value):
            """A category's display string: bytes decoded, whole floats without '.0'."""
            if isinstance(value, bytes):
                return value.decode("utf-8", "replace")
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return value if isinstance(value, str) else str(value)

        def _check_categories(self, name, role, count):
            if count > self.MAX_CATEGORIES:
                raise Failure(
                    "bad-dtype",
                    "%s %s has more than %s distinct values; that is too many groups — use a "
                    "coarser column or bin it." % (role, self._quote(name),
                                                   self._count(self.MAX_CATEGORIES)),
                )

        # ------------------------------------------------------------------ metadata tables

        def _table_sources(self, name, obj):
            """The columns of a metadata variable, before conversion.

            Accepted: a pandas DataFrame (each column), a dict of equal-length 1-D arrays /
            Series / lists / tensors (each entry), a structured NumPy array (each field), a 2-D
            array (each column), or one 1-D array, Series, list or tensor (one column).

            Returns:
                ``(n, [(label, path, values), ...])``: the row count and, per column, its
                display name, an accessor the helper accepts (or None) and the values.
            Raises:
                Failure ``not-array``, ``bad-ndim``, ``empty`` or ``length-mismatch``, naming
                the variable (and the column).
            """
            what = "metadata %s" % self._quote(name)
            info = self._describe(obj)
            family = info["family"]
            if family == "frame":
                sources = [(str(c), self._column_path(name, c), obj.iloc[:, j])
                           for j, c in enumerate(obj.columns)]
                n = len(obj)
            elif isinstance(obj, dict):
                sources, lengths = [], {}
                for key, value in obj.items():
                    inner = self._describe(value)
                    shape = inner["shape"]
                    if shape is None and inner["family"] == "arraylike":
                        value = np.asarray(value)
                        shape = value.shape
                    if not shape or (len(shape) == 2 and shape[1] != 1) or len(shape) > 2:
                        raise Failure(
                            "bad-ndim",
                            "%s entry %s is %s; every entry of a metadata dict must be one "
                            "value per example (a 1-D array, Series, list or tensor)."
                            % (what, self._quote(str(key)), "a %s" % inner["type"] if not shape
                               else "of shape %s" % self._shape_text(shape)),
                        )
                    if inner["family"] == "numpy" and value.ndim == 2:
                        value = value[:, 0]
                    lengths[str(key)] = shape[0]
                    path = self._column_path(name, key) if isinstance(key, str) else None
                    sources.append((str(key), path, value))
                if not sources:
                    raise Failure("empty", "%s is an empty dict; it needs at least one entry." % what)
                n = next(iter(lengths.values()))
                for key, length in lengths.items():
                    if length != n:
                        first = next(iter(lengths))
                        raise Failure(
                            "length-mismatch",
                            "%s entry %s has %s values but entry %s has %s; every entry needs "
                            "one value per example." % (what, self._quote(first), self._count(n),
                                                        self._quote(key), self._count(length)),
                        )
            elif family == "numpy" and obj.dtype.names:
                if obj.ndim != 1:
                    raise Failure("bad-ndim", "%s is a structured array of shape %s; it must be "
                                  "1-D (one record per example)." % (what, self._shape_text(obj.shape)))
                sources = [(str(f), None, obj[f]) for f in obj.dtype.names]
                n = obj.shape[0]
            else:
                if info["shape"] is None and family == "arraylike":
                    obj = np.asarray(obj)
                    info = self._describe(obj)
                shape = info["shape"]
                if shape is None:
                    raise Failure(
                        "not-array",
                        "%s is a %s; metadata must be a DataFrame, a dict of equal-length "
                        "arrays, a structured array, or one array/Series/list with a value per "
                        "example." % (what, info["type"]),
                    )
                if info.get("vectors"):
                    raise Failure(
                        "bad-ndim",
                        "%s holds a vector per row (shape %s); that is an embedding, not "
                        "metadata — choose it as the embeddings, or pick per-example values."
                        % (what, self._shape_text(shape)),
                    )
                if len(shape) == 1:
                    label = name
                    if family == "series" and isinstance(obj.name, str) and obj.name:
                        label = obj.name
                    sources = [(label, name, obj)]
                elif len(shape) == 2 and family in ("numpy", "torch"):
                    array = obj if family == "numpy" else self._to_numpy(name, obj, info, "metadata")
                    sources = [("%s[:, %d]" % (name, j) if shape[1] > 1 else name, None, array[:, j])
                               for j in range(shape[1])]
                else:
                    raise Failure(
                        "bad-ndim",
                        "%s has shape %s; metadata must be one value per example, a table (N "
                        "rows × columns) or a dict of columns." % (what, self._shape_text(shape)),
                    )
                n = shape[0]
            if len(sources) > self.MAX_METADATA_COLUMNS:
                raise Failure(
                    "too-large",
                    "%s has %s columns, more than the %s that can be explained; select the "
                    "columns to use, e.g. %s.iloc[:, :200]." % (what, self._count(len(sources)),
                                                                self._count(self.MAX_METADATA_COLUMNS), name),
                )
            if n == 0 or not sources:
                raise Failure("empty", "%s is empty; it needs one value per example." % what)
            return n, sources

        def _pick_columns(self, name, sources, wanted):
            """Keep the columns named in ``wanted`` (None: all), in the table's order.

            Raises:
                Failure ``bad-request`` naming the columns that do not exist.
            """
            if wanted is None:
                return sources
            if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
                raise Failure("bad-request", "field 'columns' must be a list of column names.")
            labels = {label for label, _, _ in sources}
            unknown = [w for w in wanted if w not in labels]
            if unknown:
                raise Failure(
                    "not-found",
                    "metadata %s has no column %s; its columns are %s." % (
                        self._quote(name), ", ".join(self._quote(u) for u in unknown[:5]),
                        ", ".join(self._quote(label) for label, _, _ in sources[:20])),
                )
            chosen = set(wanted)
            return [source for source in sources if source[0] in chosen]

        def _column_values(self, values):
            """One column's values as a 1-D NumPy array (object dtype for strings, pandas
            nullable values → float64 with NaN, categoricals → their codes) plus its pandas
            categories (or None) and its dtype name."""
            family = self._family(values)
            if family == "series":
                dtype = values.dtype
                name = str(dtype)
                if name == "category":
                    codes = np.asarray(values.cat.codes)
                    return codes, [self._category(c) for c in values.cat.categories.tolist()], name
                if getattr(dtype, "tz", None) is not None:
                    values = values.dt.tz_convert("UTC").dt.tz_localize(None)
                    return values.to_numpy(), None, name
                if isinstance(dtype, np.dtype):
                    return values.to_numpy(), None, name
                kind = self._dtype_kind(dtype)
                if kind == "bool":
                    return values.to_numpy(dtype=object, na_value=None), None, name
                if kind == "int":
                    return values.to_numpy(dtype="float64", na_value=np.nan), "int", name
                if kind == "float":
                    return values.to_numpy(dtype="float64", na_value=np.nan), None, name
                return values.to_numpy(dtype=object, na_value=None), None, name
            if family == "torch":
                tensor = values.detach().to("cpu")
                if tensor.is_floating_point():
                    tensor = tensor.double()
                array = tensor.numpy()
                return array.reshape(-1) if array.ndim == 2 else array, None, str(values.dtype).replace("torch.", "")
            if family == "list":
                kinds = {self._scalar_kind(v)[0] for v in values if not self._missing(v)}
                if kinds <= {"float", "int"} and kinds:
                    array = np.array([np.nan if self._missing(v) else v for v in values], dtype=np.float64)
                    return array, "int" if kinds == {"int"} else None, "int64" if kinds == {"int"} else "float64"
                return np.array(values, dtype=object), None, "object"
            array = np.asarray(values)
            if array.ndim == 2:
                array = array[:, 0]
            return array, None, str(array.dtype)

        def _table_column(self, label, path, values):
            """Convert one metadata column for the table transfer.

            Kinds: ``categorical`` for strings, bytes, pandas categories, booleans, objects and
            integers with at most ``CATEGORICAL_INT_VALUES`` distinct values; ``continuous``
            for floats, other integers, datetimes (seconds since the column's earliest value,
            ``origin``) and timedeltas (seconds). Missing values — None, NaN, ±Inf, pandas NA,
            NaT — are counted (``missing``) and become NaN on the wire.

            Returns:
                ``(descriptor, float32 values)``, or ``(skipped, None)`` where ``skipped`` is
                ``{"name", "reason"}`` for a column that cannot be explained (vectors, complex
                numbers, more than ``MAX_CATEGORIES`` distinct values).
            """
            array, extra, dtype = self._column_values(values)
            n = array.shape[0]
            out = np.full(n, np.nan, dtype="<f4")
            column = {"name": label, "path": path, "dtype": dtype}
            kind = array.dtype.kind
            if isinstance(extra, list):  # pandas category codes
                present = array >= 0
                out[present] = array[present]
                column.update(kind="categorical", categories=extra)
                column["missing"] = int(n - np.count_nonzero(present))
                return column, out
            if kind == "O":
                present = np.array([not self._missing(v) for v in array.tolist()], dtype=bool)
                kept = array[present]
                if kept.size and any(self._vector_row(v) is not None for v in kept[:self.VECTOR_SCAN_ROWS]):
                    return {"name": label, "reason": "it holds a vector per row (use it as the "
                            "embeddings)"}, None
                numbers = kept.size and all(
                    isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                    for v in kept.tolist())
                if numbers:
                    extra = "int" if all(isinstance(v, (int, np.integer)) for v in kept.tolist()) else None
                    array = np.where(present, array, np.nan).astype(np.float64)
                    kind = "f"
                elif kept.size and all(isinstance(v, (bool, np.bool_)) for v in kept.tolist()):
                    strings = ["True" if v else "False" for v in kept.tolist()]
                    return self._categorical(column, out, present, np.array(strings, dtype=object))
                else:
                    return self._categorical(column, out, present,
                                             np.array([self._category(v) for v in kept.tolist()], dtype=object))
            if kind in "USTa":
                present = np.ones(n, dtype=bool)
                return self._categorical(column, out, present,
                                         np.array([self._category(v) for v in array.tolist()], dtype=object))
            if kind == "b":
                present = np.ones(n, dtype=bool)
                return self._categorical(column, out, present, np.where(array, "True", "False").astype(object))
            if kind in "iu" or (kind == "f" and extra == "int"):
                present = np.isfinite(array) if kind == "f" else np.ones(n, dtype=bool)
                distinct = np.unique(array[present])
                if distinct.size <= self.CATEGORICAL_INT_VALUES:
                    inverse = np.searchsorted(distinct, array[present])
                    out[present] = inverse
                    column.update(kind="categorical", categories=[str(int(v)) for v in distinct.tolist()],
                                  missing=int(n - np.count_nonzero(present)))
                    return column, out
                array = array.astype(np.float64)
                kind = "f"
            if kind == "f":
                present = np.isfinite(array)
                out[present] = array[present]
                column.update(kind="continuous", missing=int(n - np.count_nonzero(present)))
                return column, out
            if kind == "M":
                ticks = array.astype("datetime64[ns]")
                present = ~np.isnat(ticks)
                column.update(kind="continuous", unit="seconds", missing=int(n - np.count_nonzero(present)))
                if present.any():
                    origin = ticks[present].min()
                    seconds = (ticks[present] - origin).astype("timedelta64[ns]").astype(np.int64) / 1e9
                    out[present] = seconds
                    column["origin"] = str(np.datetime_as_string(origin, unit="s"))
                return column, out
            if kind == "m":
                ticks = array.astype("timedelta64[ns]")
                present = ~np.isnat(ticks)
                out[present] = ticks[present].astype(np.int64) / 1e9
                column.update(kind="continuous", unit="seconds", missing=int(n - np.count_nonzero(present)))
                return column, out
            reason = "complex numbers cannot be explained (use np.abs or the real part)" if kind == "c" \
                else "its dtype %s cannot be explained" % dtype
            return {"name": label, "reason": reason}, None

        def _categorical(self, column, out, present, strings):
            """Fill ``out`` with codes into the sorted distinct ``strings`` (the present
            values, in order); a column with more than ``MAX_CATEGORIES`` is skipped."""
            categories, inverse = np.unique(strings.astype(str), return_inverse=True) if strings.size \
                else (np.array([], dtype=str), np.array([], dtype=np.intp))
            if categories.size > self.MAX_CATEGORIES:
                return {"name": column["name"], "reason": "it has %s distinct values, too many groups "
                        "to explain (an identifier?)" % self._count(categories.size)}, None
            out[present] = inverse.reshape(-1)
            column.update(kind="categorical", categories=[str(c) for c in categories.tolist()],
                          missing=int(present.size - np.count_nonzero(present)))
            return column, out

        def _table(self, name, wanted=None, max_bytes=None):
            """Check and convert a metadata variable to the table transfer.

            Returns:
                ``(n, columns, skipped, array)``: the rows, the column descriptors (see
                ``_table_column``), the skipped columns with reasons, and the C-contiguous
                little-endian float32 ``[C, N]`` array (one row per kept column).
            Raises:
                Failure as ``_table_sources``, ``too-large`` before converting, and
                ``bad-dtype`` when no column can be explained.
            """
            obj = self._resolve(name)
            n, sources = self._table_sources(name, obj)
            sources = self._pick_columns(name, sources, wanted)
            if max_bytes is not None:
                self._check_size(name, "metadata", (len(sources), n), max_bytes)
            columns, skipped, rows = [], [], []
            for label, path, values in sources:
                column, values = self._table_column(label, path, values)
                if values is None:
                    skipped.append(column)
                else:
                    columns.append(column)
                    rows.append(values)
            if not columns:
                raise Failure(
                    "bad-dtype",
                    "metadata %s has no column that can be explained (%s); pick columns of "
                    "strings, categories, booleans, numbers or dates." % (
                        self._quote(name), "; ".join("%s: %s" % (self._quote(s["name"]), s["reason"])
                                                     for s in skipped[:3])),
                )
            array = np.empty((len(rows), n), dtype="<f4")
            for j, values in enumerate(rows):
                array[j] = values
            return n, columns, skipped, array

        def _op_tokens(self, msg, request_id, buffers):
            """Which text examples hold which words, for the explanations' weighted log-odds.

            Each example (a string; missing → no words) is lower-cased and split into words of
            two or more letters (``[^\\W\\d_]{2,}``), each counted once per example. The
            vocabulary is the ``MAX_VOCABULARY`` words in the most examples among those in at
            least ``MIN_WORD_DOCUMENTS``, sorted by that count (ties: alphabetically).

            Returns:
                ``{op: "tokens", name, n, vocabulary}`` and two buffers: ``indptr`` (N + 1
                little-endian int32) and ``indices`` (int32 indices into ``vocabulary``):
                example i holds ``indices[indptr[i]:indptr[i + 1]]``.
            Raises:
                Failure ``not-array`` / ``bad-dtype`` when the variable is not 1-D text.
            """
            name = self._name_field(msg, "name")
            obj = self._resolve(name)
            info = self._describe(obj)
            shape = info["shape"]
            if shape is None or len(shape) != 1 or info["kind"] not in ("str", "object"):
                raise Failure(
                    "bad-dtype",
                    "examples %s are not text (one string per example); words can only be "
                    "counted in strings." % self._quote(name),
                )
            rows = self._rows(obj, info) if info["family"] in ("series", "numpy", "list") else list(obj)
            word = re.compile(r"[^\W\d_]{2,}")
            documents = []
            frequency = {}
            for value in rows:
                if self._missing(value) or not isinstance(value, (str, bytes)):
                    words = set()
                else:
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    words = set(word.findall(text[:self.MAX_TEXT_CHARS * 10].lower()))
                documents.append(words)
                for w in words:
                    frequency[w] = frequency.get(w, 0) + 1
            kept = sorted((w for w, c in frequency.items() if c >= self.MIN_WORD_DOCUMENTS),
                          key=lambda w: (-frequency[w], w))[:self.MAX_VOCABULARY]
            index = {w: i for i, w in enumerate(kept)}
            indptr = np.zeros(len(documents) + 1, dtype="<i4")
            indices = []
            for i, words in enumerate(documents):
                codes = sorted(index[w] for w in words if w in index)
                indices.extend(codes)
                indptr[i + 1] = len(indices)
            indices = np.asarray(indices, dtype="<i4")
            return self._reply("tokens", request_id, name=name, n=len(documents), vocabulary=kept), [
                memoryview(indptr.view(np.uint8)), memoryview(indices.view(np.uint8))]

        def _op_columns(self, msg, request_id, buffers):
            name = self._name_field(msg, "name")
            n, columns, skipped, _ = self._table(name, msg.get("columns"))
            return self._reply("columns", request_id, name=name, n=n, columns=columns,
                               skipped=skipped), []

        # ------------------------------------------------------------------ ops

        def _op_hello(self, msg, request_id, buffers):
            return self._reply(
                "hello", request_id, protocol=self.PROTOCOL, helper=self.VERSION,
                python=platform.python_version(), numpy=np.__version__, ops=sorted(self.OPS),
            ), []

        def _op_list(self, msg, request_id, buffers):
            variables = []
            for name, obj in sorted(list(self.namespace.items()), key=lambda item: str(item[0])):
                if not isinstance(name, str) or name.startswith("_") or name in self.SKIPPED_NAMES \
                        or name in self.hidden or isinstance(obj, skipped_types):
                    continue
                try:
                    variables.append(self._variable(name, obj))
                except Exception:
                    variables.append({
                        "name": name, "type": self._type_name(obj), "shape": None, "dtype": None,
                        "nbytes": None, "length": None, "roles": [],
                    })
            return self._reply("list", request_id, variables=variables), []

        def _op_check(self, msg, request_id, buffers):
            names = {"embeddings": self._name_field(msg, "embeddings"),
                     "losses": self._name_field(msg, "losses")}
            for role in ("labels", "predictions"):
                if msg.get(role) is not None:
                    names[role] = self._name_field(msg, role)
            shapes = {role: self._inspect(name, role)[1]["shape"] for role, name in names.items()}
            reply = {}
            if msg.get("metadata") is not None:
                names["metadata"] = self._name_field(msg, "metadata")
                rows, columns, skipped, _ = self._table(names["metadata"], msg.get("metadata_columns"))
                shapes["metadata"] = (rows,)
                reply["metadata"] = {"n": rows, "columns": columns, "skipped": skipped}
            if msg.get("examples") is not None:
                names["examples"] = self._name_field(msg, "examples")
                info = self._describe(self._resolve(names["examples"]))
                if not info["shape"]:
                    raise Failure(
                        "not-array",
                        "examples %s is a %s, not a sequence of examples; pick a list, array, "
                        "Series or DataFrame." % (self._quote(names["examples"]), info["type"]),
                    )
                shapes["examples"] = info["shape"]
            n, d = shapes["embeddings"]
            for role in ("losses", "labels", "predictions", "metadata", "examples"):
                if role in shapes and shapes[role][0] != n:
                    raise Failure(
                        "length-mismatch",
                        "embeddings %s has %s rows but %s %s has %s; both need one entry per "
                        "example, in the same order — check that they come from the same data "
                        "split." % (self._quote(names["embeddings"]), self._count(n), role,
                                    self._quote(names[role]), self._count(shapes[role][0])),
                    )
            return self._reply("check", request_id, n=n, d=d, **reply), []

        def _op_fetch_begin(self, msg, request_id, buffers):
            name = self._name_field(msg, "name")
            role = self._role_field(msg, self.FLOAT_ROLES + self.CODE_ROLES)
            max_bytes = self._int_field(msg, "max_bytes", self.DEFAULT_MAX_BYTES, minimum=1)
            chunk_bytes = self._int_field(msg, "chunk_bytes", self.DEFAULT_CHUNK_BYTES, minimum=1)
            chunk_bytes = min(max(chunk_bytes, self.MIN_CHUNK_BYTES), self.MAX_CHUNK_BYTES) // 8 * 8
            via = msg.get("via", "comm")
            if via not in self.TRANSPORTS:
                raise Failure(
                    "bad-request",
                    "field 'via' is %r; use one of %s." % (via, ", ".join(self.TRANSPORTS)),
                )
            components = self._int_field(msg, "components", 0, minimum=0)
            if components and role != "embeddings":
                raise Failure(
                    "bad-request",
                    "field 'components' applies to embeddings only; %s %s cannot be reduced "
                    "to principal components." % (role, self._quote(name)),
                )
            if msg.get("table"):
                if role != "metadata":
                    raise Failure("bad-request", "field 'table' applies to metadata only.")
                _, columns, skipped, array = self._table(name, msg.get("columns"), max_bytes)
                return self._begin_transfer(msg, request_id, name, role, array, chunk_bytes, via,
                                            {"columns": columns, "skipped": skipped})
            obj, info = self._inspect(name, role)
            if components:
                self._check_components(name, info["shape"], components)
            wire_shape = (info["shape"][0], components) if components else info["shape"]
            self._check_size(name, role, wire_shape, max_bytes)
            array, categories = self._convert(name, role, obj, info)
            projection = None
            if components:
                array, projection = self._project(array, components)
            self._check_size(name, role, array.shape, max_bytes)
            extra = {} if categories is None else {"categories": categories}
            reply = self._begin_transfer(msg, request_id, name, role, array, chunk_bytes, via, extra)[0]
            if projection is None:
                return reply, []
            reply.update(projection["fields"])
            return reply, projection["buffers"]

        def _begin_transfer(self, msg, request_id, name, role, array, chunk_bytes, via, extra):
            """Prepare the fetch of a converted ``array`` (file or comm) and its reply."""
            view = memoryview(array.reshape(-1).view(np.uint8))
            self._drop_transfer(request_id)
            token = reason = None
            if via == "file":
                try:
                    token, checksum = self._write_transfer_file(view)
                except OSError as exc:
                    via = "comm"
                    reason = "the kernel could not write its transfer file (%s: %s)" % (
                        type(exc).__name__, exc)
            if token is None:
                checksum = 0
                for offset in range(0, view.nbytes, chunk_bytes):
                    checksum = zlib.crc32(view[offset:offset + chunk_bytes], checksum)
            self.transfers[request_id] = {
                "array": array, "view": view, "chunk_bytes": chunk_bytes, "token": token,
            }
            while len(self.transfers) > self.MAX_TRANSFERS:
                self._drop_transfer(next(iter(self.transfers)))
            reply = self._reply(
                "fetch-begin", request_id, name=name, role=role,
                dtype="float32" if array.dtype.kind == "f" else "int32",
                shape=[int(s) for s in array.shape], nbytes=view.nbytes, chunk_bytes=chunk_bytes,
                chunks=-(-view.nbytes // chunk_bytes), checksum=checksum & 0xFFFFFFFF,
            )
            reply.update(extra)
            if "via" in msg:
                reply["via"] = via
                if token is not None:
                    reply["token"] = token
                if reason is not None:
                    reply["via_reason"] = reason
            return reply, []

        # ------------------------------------------------------------------ projection

        def _check_components(self, name, shape, components):
            """Refuse a projection on ``components`` ≥ D or more than ``MAX_COMPONENTS``.

            Args:
                name: the embeddings variable (for the message).
                shape: its shape (N, D), as ``_inspect`` read it.
                components: the requested k ≥ 1.
            Raises:
                Failure ``bad-request`` naming the variable, D and the allowed range.
            """
            d = int(shape[1])
            if components >= d:
                raise Failure(
                    "bad-request",
                    "cannot reduce embeddings %s to %s principal components: it has D = %s "
                    "dimensions, and the components must be fewer (1 to %s); use 0 to search "
                    "on the embeddings as they are."
                    % (self._quote(name), self._count(components), self._count(d),
                       self._count(max(1, d - 1))),
                )
            if components > self.MAX_COMPONENTS:
                raise Failure(
                    "bad-request",
                    "cannot reduce embeddings %s (D = %s) to %s principal components: at most "
                    "%s are computed; choose fewer, or 0 to search on the embeddings as they are."
                    % (self._quote(name), self._count(d), self._count(components),
                       self._count(self.MAX_COMPONENTS)),
                )

        def _project(self, values, components):
            """Project float32 embeddings on their top principal components (PCA).

            The N × D ``values`` are centred on their column mean and projected on the
            ``components`` leading eigenvectors of the D × D scatter matrix Σ (x − m)(x − m)ᵀ,
            computed in float64 in blocks of rows (no N × D float64 copy), sorted by
            decreasing variance, each with its largest-magnitude entry positive (ties: the
            first).  The projection itself uses the float32-rounded mean and components
            (in float64 arithmetic), exactly what the browser receives and saved findings
            keep, so that a saved cell recreates the same coordinates.

            Args:
                values: C-contiguous little-endian float32 N × D embeddings (finite).
                components: k, 1 ≤ k < D.
            Returns:
                ``(projected, projection)``: the C-contiguous little-endian float32 N × k
                coordinates, and ``{"fields": reply fields, "buffers": [mean, components]}``
                with the fields ``components``, ``source_shape``, ``source_checksum``
                (CRC-32 of the N × D float32 bytes), ``explained_variance_ratio`` (k
                floats) and ``projection_checksum`` (CRC-32 of the mean's bytes continued
                over the components'), and the buffers: the mean (D float32) and the
                components (k × D float32, row-major).
            """
            n, d = values.shape
            step = max(1, self.PCA_BLOCK_VALUES // d)
            flat = memoryview(values.reshape(-1).view(np.uint8))
            source_checksum = 0
            for offset in range(0, flat.nbytes, 64 << 20):
                source_checksum = zlib.crc32(flat[offset:offset + (64 << 20)], source_checksum)
            mean = np.zeros(d, dtype=np.float64)
            for start in range(0, n, step):
                mean += values[start:start + step].sum(axis=0, dtype=np.float64)
            mean /= n
            scatter = np.zeros((d, d), dtype=np.float64)
            for start in range(0, n, step):
                block = values[start:start + step].astype(np.float64) - mean
                scatter += block.T @ block
            eigenvalues, vectors = np.linalg.eigh(scatter)
            eigenvalues = np.maximum(eigenvalues[::-1][:components], 0.0)
            top = np.ascontiguousarray(vectors[:, ::-1][:, :components].T)
            largest = np.argmax(np.abs(top), axis=1)
            top *= np.where(top[np.arange(components), largest] < 0, -1.0, 1.0)[:, None]
            # + 0.0 turns -0.0 into 0.0, so the bytes do not depend on LAPACK's signs of zero.
            mean32 = np.ascontiguousarray(mean + 0.0, dtype="<f4")
            top32 = np.ascontiguousarray(top + 0.0, dtype="<f4")
            mean64, top64 = mean32.astype(np.float64), top32.astype(np.float64)
            projected = np.empty((n, components), dtype="<f4")
            for start in range(0, n, step):
                block = (values[start:start + step].astype(np.float64) - mean64) @ top64.T
                projected[start:start + step] = block + 0.0
            total = float(np.trace(scatter))
            ratio = [float(v / total) if total > 0 else 0.0 for v in eigenvalues]
            mean_view = memoryview(mean32.view(np.uint8))
            top_view = memoryview(top32.reshape(-1).view(np.uint8))
            fields = {
                "components": int(components),
                "source_shape": [int(n), int(d)],
                "source_checksum": source_checksum & 0xFFFFFFFF,
                "explained_variance_ratio": ratio,
                "projection_checksum": zlib.crc32(top_view, zlib.crc32(mean_view)) & 0xFFFFFFFF,
            }
            return projected, {"fields": fields, "buffers": [mean_view, top_view]}

        # ------------------------------------------------------------------ file transport

        @classmethod
        def transfer_directory(cls):
            """The private folder of transfer files: ``<tempdir>/jupyterlab-spotlight-<uid>``.

            Returns:
                The absolute path (it may not exist yet). ``<tempdir>`` is
                ``tempfile.gettempdir()``; ``<uid>`` the numeric user id.
            """
            user = os.getuid() if hasattr(os, "getuid") else "user"
            return os.path.join(tempfile.gettempdir(), "%s%s" % (cls.TRANSFER_DIRECTORY_PREFIX, user))

        @classmethod
        def _private_directory(cls):
            """Create (mode 0700) or check the transfer folder; return its path.

            Raises:
                OSError: the platform has no ``O_NOFOLLOW`` (not POSIX), the folder cannot be
                    created, or it is not a real folder owned by this user and closed to
                    others (a symlink, another owner, group/other permissions).
            """
            if not hasattr(os, "O_NOFOLLOW") or not hasattr(os, "getuid"):
                raise OSError("the file transport needs a POSIX system")
            path = cls.transfer_directory()
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                pass
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
                raise OSError(
                    "%s is not a private folder of this user (it must be a directory, not a "
                    "link, owned by uid %d with mode 0700); remove it" % (path, os.getuid())
                )
            return path

        def _write_transfer_file(self, view):
            """Write ``view`` to ``<transfer folder>/<token>`` (mode 0600), computing its CRC-32.

            The bytes go to ``<token>.part`` first, which is renamed when complete, so the
            server never sees a partial file.

            Args:
                view: a byte memoryview (the converted array).
            Returns:
                ``(token, checksum)``: 32 lowercase hex digits (128 random bits) and the
                CRC-32 of all bytes.
            Raises:
                OSError: the folder is unusable (see ``_private_directory``), there is not
                    enough free space (``nbytes`` + 64 MiB), or writing failed; nothing is
                    left behind.
            """
            directory = self._private_directory()
            free = shutil.disk_usage(directory).free
            if free < view.nbytes + self.FILE_FREE_MARGIN_BYTES:
                raise OSError(
                    "%s has %s free, too little for %s" % (
                        directory, self._size_text(free), self._size_text(view.nbytes))
                )
            token = secrets.token_hex(16)
            final = os.path.join(directory, token)
            partial = final + ".part"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(partial, flags, 0o600)
            try:
                checksum = 0
                step = self.FILE_WRITE_BYTES
                for offset in range(0, view.nbytes, step):
                    piece = view[offset:offset + step]
                    checksum = zlib.crc32(piece, checksum)
                    while piece.nbytes:
                        piece = piece[os.write(fd, piece):]
                os.close(fd)
                fd = -1
                os.replace(partial, final)
            except BaseException:
                if fd >= 0:
                    os.close(fd)
                try:
                    os.unlink(partial)
                except OSError:
                    pass
                raise
            return token, checksum & 0xFFFFFFFF

        def _drop_transfer(self, key):
            """Forget a prepared fetch and delete its file if the server has not yet."""
            transfer = self.transfers.pop(key, None)
            token = transfer and transfer.get("token")
            if token:
                try:
                    os.unlink(os.path.join(self.transfer_directory(), token))
                except FileNotFoundError:
                    pass  # served: the server deleted it

        @classmethod
        def remove_stale_files(cls, max_age=None, now=None):
            """Delete transfer files older than ``max_age`` seconds (default one hour).

            Files are left behind only when a kernel died mid-transfer; the helper calls this
            each time it is injected. Only regular files named like transfers (``<token>``,
            ``<token>.part``) in the private folder are touched; a folder that is not private
            (see ``_private_directory``) is left alone.

            Args:
                max_age: age in seconds (by modification time) above which a file is stale.
                now: the current time (``time.time()`` when None), for tests.
            Returns:
                The number of files deleted: 0 when the folder does not exist or is not
                private. Files that vanish meanwhile (another kernel cleaned them) or cannot
                be read are skipped: cleaning is best effort and never fails the injection.
            """
            max_age = cls.STALE_SECONDS if max_age is None else max_age
            now = time.time() if now is None else now
            removed = 0
            try:
                if not os.path.lexists(cls.transfer_directory()):
                    return 0
                directory = cls._private_directory()
                with os.scandir(directory) as entries:
                    for entry in entries:
                        token = entry.name[:-5] if entry.name.endswith(".part") else entry.name
                        if not cls.TOKEN_PATTERN.fullmatch(token):
                            continue
                        try:
                            info = entry.stat(follow_symlinks=False)
                            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > max_age:
                                os.unlink(entry.path)
                                removed += 1
                        except OSError:
                            continue
            except OSError:
                pass
            return removed

        def _transfer_key(self, msg, request_id):
            key = msg.get("transfer_id", request_id)
            if not isinstance(key, str):
                raise Failure("bad-request", "field 'transfer_id' must be a string.")
            return key

        def _op_fetch_chunk(self, msg, request_id, buffers):
            key = self._transfer_key(msg, request_id)
            transfer = self.transfers.get(key)
            if transfer is None:
                raise Failure(
                    "unknown-request",
                    "no fetch %s is open here (it finished, was cancelled or evicted, or the "
                    "kernel restarted); start the fetch again." % self._quote(key),
                )
            view, chunk_bytes = transfer["view"], transfer["chunk_bytes"]
            chunks = -(-view.nbytes // chunk_bytes)
            index = self._int_field(msg, "index", maximum=chunks - 1)
            offset = index * chunk_bytes
            chunk = view[offset:offset + chunk_bytes]
            reply = self._reply("fetch-chunk", request_id, index=index, offset=offset, nbytes=chunk.nbytes)
            if "transfer_id" in msg:
                reply["transfer_id"] = key
            return reply, [chunk]

        def _op_fetch_end(self, msg, request_id, buffers):
            key = self._transfer_key(msg, request_id)
            self._drop_transfer(key)
            reply = self._reply("fetch-end", request_id)
            if "transfer_id" in msg:
                reply["transfer_id"] = key
            return reply, []

        def _op_examples(self, msg, request_id, buffers):
            name = self._name_field(msg, "name")
            indices = msg.get("indices")
            if not isinstance(indices, list) or not indices or len(indices) > self.MAX_EXAMPLES or \
                    not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
                raise Failure(
                    "bad-request",
                    "'indices' must be a list of 1 to %d integers." % self.MAX_EXAMPLES,
                )
            obj = self._resolve(name)
            info = self._describe(obj)
            shape = info["shape"]
            if shape is None or not shape:
                raise Failure(
                    "not-array",
                    "examples %s is a %s, not a sequence of examples; pick a list, array, "
                    "Series or DataFrame." % (self._quote(name), info["type"]),
                )
            bad = [i for i in indices if not 0 <= i < shape[0]]
            if bad:
                raise Failure(
                    "bad-request",
                    "index %s is out of range for examples %s with %s rows."
                    % (self._count(bad[0]), self._quote(name), self._count(shape[0])),
                )
            fields = self._examples(name, obj, info, indices)
            image = fields.pop("buffer", None)
            reply = self._reply("examples", request_id, name=name, indices=indices, **fields)
            return reply, [] if image is None else [image]

        def _examples(self, name, obj, info, indices):
            """Reply fields for the rows ``indices`` (see the protocol's Examples section)."""
            family, shape, kind = info["family"], info["shape"], info["kind"]
            if family == "frame":
                rows = obj.iloc[indices]
                kept = rows.iloc[:, :self.MAX_TABLE_COLUMNS]
                return {
                    "kind": "table", "columns": [str(c) for c in kept.columns],
                    "n_columns": int(shape[1]),
                    "items": [[self._json_value(v) for v in row]
                              for row in kept.itertuples(index=False, name=None)],
                }
            if kind in ("float", "int", "bool") and len(shape) in (3, 4) and self._image_layout(shape):
                page = self._take(obj, info, indices)
                pixels = self._to_uint8(page, self._image_layout(shape))
                return {"kind": "image", "shape": [int(s) for s in pixels.shape],
                        "dtype": "uint8", "buffer": memoryview(pixels.reshape(-1))}
            if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
                values = self._take(obj, info, indices)
                if isinstance(values, np.ndarray):
                    values = values.reshape(-1).tolist()
                if kind == "str":
                    return {"kind": "text", "items": [self._text(v) for v in values]}
                return {"kind": "value", "items": [self._json_value(v) for v in values]}
            raise Failure(
                "bad-ndim",
                "examples %s has shape %s; examples must be strings, images (N × H × W, "
                "N × H × W × C or N × C × H × W with C in 1, 3, 4), a DataFrame, or one value "
                "per row." % (self._quote(name), self._shape_text(shape)),
            )

        def _take(self, obj, info, indices):
            """Rows ``indices`` of ``obj`` as a NumPy array (a list for lists)."""
            family = info["family"]
            if family == "numpy":
                return obj[np.asarray(indices, dtype=np.intp)]
            if family == "torch":
                torch = sys.modules["torch"]
                rows = obj.detach()[torch.as_tensor(indices, dtype=torch.long, device=obj.device)]
                if rows.is_floating_point():
                    rows = rows.to("cpu", torch.float32)
                return rows.to("cpu").numpy()
            if family == "series":
                rows = obj.iloc[indices]
                if info["kind"] == "category":
                    return rows.astype(object).to_numpy()
                return self._to_numpy("", rows, self._describe(rows), "examples")
            if family == "list":
                rows = [obj[i] for i in indices]
                if info["kind"] in ("str", "object") or len(info["shape"]) == 1:
                    return rows
                return np.stack([np.asarray(self._to_numpy("", r, self._describe(r), "examples"))
                                 for r in rows])
            return np.stack([np.asarray(obj[i]) for i in indices])

        @staticmethod
        def _to_uint8(page, layout):
            """Normalise a page of images to uint8 ``[n, H, W, C]`` with C in 1 or 3.

            uint8 passes through; bool → 0/255; other integers within 0..255 pass through,
            else min–max; floats within [0, 1] are scaled by 255, else min–max over the
            page's finite values (a constant page becomes 128); NaN/±Inf become 0.
            Alpha (C = 4) is dropped; N × C × H × W is transposed to channels-last.
            """
            page = np.asarray(page)
            if layout == "nhw":
                page = page[..., None]
            elif layout == "nchw":
                page = np.moveaxis(page, 1, -1)
            if page.shape[-1] == 4:
                page = page[..., :3]
            kind = page.dtype.kind
            if page.dtype == np.uint8:
                out = page
            elif kind == "b":
                out = page.astype(np.uint8) * 255
            elif kind in "iu" and page.min() >= 0 and page.max() <= 255:
                out = page.astype(np.uint8)
            else:
                values = page.astype(np.float64)
                finite = np.isfinite(values)
                low = values[finite].min() if finite.any() else 0.0
                high = values[finite].max() if finite.any() else 0.0
                if kind == "f" and low >= 0.0 and high <= 1.0:
                    scaled = values * 255.0
                elif high > low:
                    scaled = (values - low) * (255.0 / (high - low))
                else:
                    scaled = np.full(values.shape, 128.0)
                out = np.where(finite, np.rint(scaled), 0.0).astype(np.uint8)
            return np.ascontiguousarray(out, dtype=np.uint8)

        def _text(self, value):
            """A text example: str (cut to ``MAX_TEXT_CHARS``) or None for missing."""
            value = self._json_value(value)
            if value is None or isinstance(value, str):
                return value
            return str(value)

        def _json_value(self, value):
            """A JSON-safe scalar: None, bool, int, finite float or str (cut)."""
            if value is None:
                return None
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, (int, np.integer)):
                return int(value)
            if isinstance(value, (float, np.floating)):
                value = float(value)
                return value if math.isfinite(value) else None
            if type(value).__name__ in ("NAType", "NaTType"):
                return None
            if isinstance(value, (bytes, np.bytes_)):
                value = bytes(value).decode("utf-8", "replace")
            elif not isinstance(value, str):
                isoformat = getattr(value, "isoformat", None)
                value = isoformat() if callable(isoformat) else str(value)
            if len(value) > self.MAX_TEXT_CHARS:
                value = value[:self.MAX_TEXT_CHARS - 1] + "…"
            return str(value)

        def _op_upload_begin(self, msg, request_id, buffers):
            name = msg.get("name")
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
                    or name.startswith("_"):
                raise Failure(
                    "bad-name",
                    "cannot bind an upload to %s; use a plain Python identifier that does not "
                    "start with '_'." % self._quote(str(name)),
                )
            dtype = msg.get("dtype")
            if dtype not in self.UPLOAD_DTYPES:
                raise Failure("bad-request", "upload dtype must be one of %s." % ", ".join(self.UPLOAD_DTYPES))
            shape = msg.get("shape")
            if not isinstance(shape, list) or not all(
                    isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
                raise Failure("bad-request", "upload shape must be a list of non-negative integers.")
            nbytes = self._int_field(msg, "nbytes")
            expected = math.prod(shape) * np.dtype(self.UPLOAD_DTYPES[dtype]).itemsize
            if nbytes != expected:
                raise Failure(
                    "bad-request",
                    "upload nbytes is %s but shape %s of %s needs %s." % (
                        self._count(nbytes), self._shape_text(shape), dtype, self._count(expected)),
                )
            checksum = self._int_field(msg, "checksum", maximum=0xFFFFFFFF)
            self.uploads.pop(request_id, None)
            self.uploads[request_id] = {
                "name": name, "dtype": dtype, "shape": shape, "checksum": checksum,
                "data": bytearray(nbytes), "received": {},
            }
            while len(self.uploads) > self.MAX_TRANSFERS:
                self.uploads.pop(next(iter(self.uploads)))
            return self._reply("upload-begin", request_id), []

        def _upload(self, msg, request_id):
            key = self._transfer_key(msg, request_id)
            upload = self.uploads.get(key)
            if upload is None:
                raise Failure(
                    "unknown-request",
                    "no upload %s is open here (it finished, failed, was evicted, or the "
                    "kernel restarted); start the upload again." % self._quote(key),
                )
            return key, upload

        def _op_upload_chunk(self, msg, request_id, buffers):
            key, upload = self._upload(msg, request_id)
            index = self._int_field(msg, "index")
            offset = self._int_field(msg, "offset")
            if len(buffers) != 1:
                raise Failure("bad-request", "an upload-chunk needs exactly one buffer, got %d." % len(buffers))
            chunk = memoryview(buffers[0]).cast("B")
            data = upload["data"]
            if offset + chunk.nbytes > len(data) or offset in upload["received"]:
                self.uploads.pop(key, None)
                raise Failure(
                    "bad-request",
                    "upload chunk %d (bytes %s..%s) does not fit the %s-byte upload or repeats "
                    "an offset; the upload of %s was discarded." % (
                        index, self._count(offset), self._count(offset + chunk.nbytes),
                        self._count(len(data)), self._quote(upload["name"])),
                )
            data[offset:offset + chunk.nbytes] = chunk
            upload["received"][offset] = chunk.nbytes
            return self._reply("upload-chunk", request_id, index=index), []

        def _op_upload_end(self, msg, request_id, buffers):
            key, upload = self._upload(msg, request_id)
            del self.uploads[key]
            data, name = upload["data"], upload["name"]
            covered = 0
            for offset, size in sorted(upload["received"].items()):
                if offset != covered:
                    break
                covered += size
            if covered != len(data):
                raise Failure(
                    "bad-request",
                    "upload of %s is incomplete: %s of %s bytes arrived in order; nothing was "
                    "bound — send it again." % (self._quote(name), self._count(covered),
                                                self._count(len(data))),
                )
            checksum = zlib.crc32(data) & 0xFFFFFFFF
            if checksum != upload["checksum"]:
                raise Failure(
                    "checksum",
                    "upload of %s failed its checksum (expected %d, got %d); nothing was bound "
                    "— send it again." % (self._quote(name), upload["checksum"], checksum),
                )
            array = np.frombuffer(data, dtype=self.UPLOAD_DTYPES[upload["dtype"]])
            array = array.astype(array.dtype.newbyteorder("="), copy=False).reshape(upload["shape"])
            self.namespace[name] = array
            return self._reply("upload-end", request_id, name=name, shape=upload["shape"],
                               dtype=upload["dtype"]), []

    return _JupyterlabSpotlightHelper


_JupyterlabSpotlightHelper = _jupyterlab_spotlight_define()
del _jupyterlab_spotlight_define


def _jupyterlab_spotlight_register():
    """Register the comm target ``jupyterlab-spotlight`` in the running IPython kernel.

    Each comm opened by the browser gets its own helper over the shell's ``user_ns``;
    its messages' ``data``/buffers go to ``handle`` and every reply is sent back with
    ``comm.send(data, buffers=...)``.  Calling this again (e.g. after re-injection)
    replaces the previous registration.  It also deletes transfer files older than an
    hour (left by kernels that died mid-transfer, see ``remove_stale_files``).

    Raises:
        RuntimeError: when not running inside an IPython kernel with a comm manager.
    """
    helper_class = _JupyterlabSpotlightHelper
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython is not None else None
    kernel = getattr(shell, "kernel", None)
    if shell is None or kernel is None:
        raise RuntimeError(
            "jupyterlab-spotlight: _jupyterlab_spotlight_register() must run inside an "
            "IPython kernel (ipykernel); no kernel was found in this process."
        )
    manager = getattr(kernel, "comm_manager", None)
    if manager is None:
        try:
            from comm import get_comm_manager
            manager = get_comm_manager()
        except Exception as exc:
            raise RuntimeError(
                "jupyterlab-spotlight: this kernel has no comm manager (%s); upgrade "
                "ipykernel." % exc
            ) from exc
    namespace = shell.user_ns
    hidden = getattr(shell, "user_ns_hidden", ())
    helper_class.remove_stale_files()

    def open_comm(comm, open_msg):
        helper = helper_class(namespace, hidden)

        def on_msg(msg):
            content = msg.get("content") or {}
            for data, buffers in helper.handle(content.get("data"), msg.get("buffers") or []):
                comm.send(data, buffers=buffers)

        comm.on_msg(on_msg)
        comm.on_close(lambda msg: helper.close())

    manager.register_target(helper_class.TARGET, open_comm)


if __name__ == "jupyterlab_spotlight.kernel_helper":
    Helper = _JupyterlabSpotlightHelper

"""Tests of the kernel helper (protocol v1), driven through ``Helper.handle``."""

import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import zlib

import numpy as np
import pandas as pd
import pytest
import torch

from jupyterlab_spotlight.kernel_helper import Helper

SOURCE_PATH = pathlib.Path(__file__).resolve().parents[1] / "kernel_helper.py"
PWNED = pathlib.Path("/tmp/pwned")


# --------------------------------------------------------------------------- helpers

def call(helper, op, buffers=(), request_id="r1", **fields):
    """Send one request; return its single reply ``(data, buffers)``."""
    replies = helper.handle({"version": 1, "op": op, "request_id": request_id, **fields}, list(buffers))
    assert len(replies) == 1
    data, bufs = replies[0]
    assert data["version"] == 1 and data["request_id"] == request_id
    return data, bufs


def ok(helper, op, buffers=(), **fields):
    data, bufs = call(helper, op, buffers, **fields)
    assert data["op"] == op, data
    return data, bufs


def fail(helper, op, code, buffers=(), **fields):
    """Send a request that must fail with ``code``; return the message."""
    data, bufs = call(helper, op, buffers, **fields)
    assert data["op"] == "error", data
    assert data["code"] == code, data
    assert bufs == []
    assert isinstance(data["message"], str) and data["message"].endswith((".", ")", "?"))
    return data["message"]


def fetch(helper, name, role, request_id="f1", **fields):
    """Run a whole fetch; return the decoded array and the fetch-begin reply."""
    begin, _ = ok(helper, "fetch-begin", request_id=request_id, name=name, role=role, **fields)
    parts = []
    for index in range(begin["chunks"]):
        reply, bufs = ok(helper, "fetch-chunk", request_id=request_id, index=index)
        assert reply["index"] == index and reply["offset"] == index * begin["chunk_bytes"]
        assert len(bufs) == 1 and isinstance(bufs[0], memoryview)
        assert bufs[0].nbytes == reply["nbytes"]
        parts.append(bytes(bufs[0]))
    ok(helper, "fetch-end", request_id=request_id)
    payload = b"".join(parts)
    assert len(payload) == begin["nbytes"]
    assert zlib.crc32(payload) == begin["checksum"]
    dtype = {"float32": "<f4", "int32": "<i4"}[begin["dtype"]]
    return np.frombuffer(payload, dtype=dtype).reshape(begin["shape"]), begin


def listed(namespace, **kwargs):
    data, _ = ok(Helper(namespace, **kwargs), "list")
    return {v["name"]: v for v in data["variables"]}


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Box:
    """A plain object with attributes, for name resolution."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)


class ArrayLike:
    """A foreign array type that only offers ``__array__``, ``shape`` and ``dtype``."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape = self._data.shape
        self.dtype = self._data.dtype

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __getitem__(self, index):
        return self._data[index]


# --------------------------------------------------------------------------- list

def test_list_describes_every_family(tmp_path):
    memmap = np.memmap(tmp_path / "m.dat", dtype="float32", mode="w+", shape=(10, 4))
    ns = {
        "emb": np.zeros((100, 8), dtype=np.float32),
        "mm": memmap,
        "t": torch.zeros(6, 3, dtype=torch.bfloat16, requires_grad=True),
        "param": torch.nn.Parameter(torch.zeros(5, 2)),
        "df": pd.DataFrame({"age": [1, 2, 3], "city": pd.Categorical(["a", "b", "a"]), "s": ["x", "y", "z"]}),
        "ser_cat": pd.Series(["a", "b"], dtype="category"),
        "ser_str": pd.Series(["a", "b"]),
        "ser_int": pd.Series([1, 2]),
        "ser_float": pd.Series([0.5, 1.5]),
        "ser_bool": pd.Series([True, False]),
        "floats": [0.1, 0.2, 0.3],
        "ints": [1, 2, 3],
        "words": ["a", "b"],
        "rows": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        "arrays": [np.zeros(4, dtype=np.float32)] * 3,
        "images": np.zeros((5, 8, 8, 3), dtype=np.uint8),
        "gray": np.zeros((5, 8, 8)),
        "nchw": torch.zeros(2, 3, 8, 8),
        "strs": np.array(["a", "b", "c"]),
        "flags": np.array([True, False]),
        "table": {"a": 1, "b": 2},
        "count": 3,
        "text": "hello",
        "foreign": ArrayLike(np.zeros((4, 2))),
    }
    got = listed(ns)
    assert got["emb"] == {
        "name": "emb", "type": "numpy.ndarray", "shape": [100, 8], "dtype": "float32",
        "nbytes": 3200, "length": 100, "roles": ["embeddings"],
    }
    assert got["mm"]["type"] == "numpy.memmap" and got["mm"]["roles"] == ["embeddings"]
    assert got["t"] == {
        "name": "t", "type": "torch.Tensor", "shape": [6, 3], "dtype": "bfloat16",
        "nbytes": 36, "length": 6, "roles": ["embeddings"],
    }
    assert got["param"]["type"] == "torch.nn.parameter.Parameter"
    assert got["param"]["nbytes"] == 40
    df = got["df"]
    assert (df["type"], df["shape"], df["dtype"], df["length"]) == ("pandas.DataFrame", [3, 3], "mixed", 3)
    assert df["roles"] == ["examples", "metadata"]
    assert df["columns"][0] == {"name": "age", "path": "df['age']", "dtype": "int64",
                                "roles": ["losses", "predictions", "labels", "metadata"],
                                "kind": "integer"}
    assert df["columns"][1] == {"name": "city", "path": "df['city']", "dtype": "category",
                                "roles": ["labels", "metadata"], "kind": "categorical"}
    assert df["columns"][2]["kind"] == "categorical"
    assert df["columns"][2]["roles"] == ["labels", "examples", "metadata"]
    assert got["ser_cat"]["roles"] == ["labels", "metadata"]
    assert got["ser_str"]["roles"] == ["labels", "examples", "metadata"]
    assert got["ser_int"]["roles"] == ["losses", "predictions", "labels", "metadata"]
    assert got["ser_float"]["roles"] == ["losses", "predictions", "metadata"]
    assert got["ser_bool"]["roles"] == ["labels", "metadata"]
    assert got["ser_float"]["type"] == "pandas.Series" and got["ser_float"]["nbytes"] == 16
    assert got["floats"] == {"name": "floats", "type": "list", "shape": [3], "dtype": "float64",
                             "nbytes": None, "length": 3, "roles": ["losses", "predictions", "metadata"]}
    assert got["ints"]["roles"] == ["losses", "predictions", "labels", "metadata"]
    assert got["words"]["roles"] == ["labels", "examples", "metadata"]
    assert got["words"]["dtype"] == "str"
    assert got["rows"]["shape"] == [3, 2] and got["rows"]["roles"] == ["embeddings"]
    assert got["arrays"]["shape"] == [3, 4] and got["arrays"]["dtype"] == "float32"
    assert got["images"]["roles"] == ["examples"]
    assert got["gray"]["roles"] == ["examples"]
    assert got["nchw"]["roles"] == ["examples"]
    assert got["strs"]["roles"] == ["labels", "examples", "metadata"]
    assert got["flags"]["roles"] == ["labels", "metadata"]
    assert got["table"] == {"name": "table", "type": "dict", "shape": None, "dtype": None,
                            "nbytes": None, "length": 2, "roles": []}
    assert got["count"]["roles"] == [] and got["count"]["type"] == "int"
    assert got["text"]["length"] is None
    assert got["foreign"]["shape"] == [4, 2] and got["foreign"]["roles"] == ["embeddings"]
    assert got["foreign"]["type"].endswith("ArrayLike")


def test_list_skips_private_ipython_modules_functions_classes():
    ns = {
        "np": np, "fn": lambda: 0, "Box": Box, "method": Box().__init__, "builtin": len,
        "_private": 1, "__name__": "__main__", "In": [], "Out": {}, "exit": object(),
        "quit": object(), "get_ipython": object(), "hidden_one": 1, "kept": 2,
    }
    assert list(listed(ns, hidden={"hidden_one": 1})) == ["kept"]


def test_list_survives_objects_that_raise():
    class Broken(list):
        def __getitem__(self, index):
            raise RuntimeError("boom")

    class BadArray:
        def __array__(self):
            return np.zeros(3)

        @property
        def shape(self):
            raise RuntimeError("no shape")

    got = listed({"broken": Broken([1, 2]), "bad": BadArray(), "fine": np.zeros(3)})
    assert got["broken"]["roles"] == [] and got["broken"]["shape"] is None
    assert got["bad"]["shape"] is None
    assert got["fine"]["roles"] == ["losses", "predictions", "metadata"]


def test_list_1gb_array_among_200_variables_is_fast_and_copies_nothing():
    big = np.empty((262144, 1024), dtype=np.float32)  # 1 GiB, never touched
    ns = {"big": big}
    for i in range(199):
        kind = i % 5
        ns["v%03d" % i] = (
            np.zeros((50, 4)) if kind == 0 else
            torch.zeros(10) if kind == 1 else
            pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}) if kind == 2 else
            [1.0, 2.0] if kind == 3 else "text"
        )
    helper = Helper(ns)
    ok(helper, "list")  # warm up
    before = rss_bytes()
    start = time.perf_counter()
    data, _ = ok(helper, "list")
    elapsed = time.perf_counter() - start
    grown = rss_bytes() - before
    print("\nlisting 200 variables incl. a 1 GiB array: %.1f ms" % (elapsed * 1000))
    got = {v["name"]: v for v in data["variables"]}
    assert len(got) == 200
    assert got["big"]["nbytes"] == 1 << 30
    assert got["big"]["shape"] == [262144, 1024]
    assert got["big"]["roles"] == ["embeddings"]
    assert grown < 50 << 20


# --------------------------------------------------------------------------- names

INJECTIONS = [
    "x); import os; os.system('touch /tmp/pwned'); (x",
    "__import__('os').system('touch /tmp/pwned')",
    "x[__import__('os').system('touch /tmp/pwned')]",
    "a.__class__",
    "a.__class__.__base__",
    "a.__dict__",
    "a._private",
    "_hidden",
    "a[0].__class__",
    "a; b",
    "a + b",
    "a()",
    "a.b()",
    "a[b]",
    "a[1:2]",
    "a['k\\'']",
    "a[\"k\"+\"j\"]",
    "a .b",
    " a",
    "a\n",
    "lambda: 0",
    "1abc",
    "",
    "a." + "b" * 600,
    "exec('import os')",
    "a['x'] if a else b",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_names_that_are_not_plain_references_are_rejected(name):
    if PWNED.exists():
        PWNED.unlink()
    ns = {"a": Box(b=np.zeros((3, 2))), "x": np.zeros((3, 2)), "os": os}
    helper = Helper(ns)
    for op, fields in (
        ("fetch-begin", {"name": name, "role": "embeddings"}),
        ("examples", {"name": name, "indices": [0]}),
        ("check", {"embeddings": name, "losses": "x"}),
    ):
        message = fail(helper, op, "bad-name", **fields)
        assert "variable name" in message
    assert not PWNED.exists()


def test_bad_name_message_says_why():
    message = fail(Helper({"a": 1}), "fetch-begin", "bad-name", name="a.__class__", role="losses")
    assert "'__class__'" in message and "starting with '_'" in message
    message = fail(Helper({"a": 1}), "fetch-begin", "bad-name", name="a()", role="losses")
    assert "unexpected '('" in message


def test_accessor_names_resolve_without_eval():
    frame = pd.DataFrame({"loss": [0.5, 1.0], "with space": [1.0, 2.0], 0: [3.0, 4.0]})
    ns = {
        "model": Box(emb=np.ones((3, 2)), inner=Box(d={"x": [np.zeros((2, 2)), np.ones((2, 2))]})),
        "outputs": {"loss": np.array([1.0, 2.0]), "_k": np.array([3.0])},
        "df": frame,
        "batches": [np.array([0.1, 0.2]), np.array([0.3, 0.4])],
    }
    helper = Helper(ns)
    assert fetch(helper, "model.emb", "embeddings")[0].shape == (3, 2)
    assert fetch(helper, "model.inner.d['x'][1]", "embeddings")[0].tolist() == [[1, 1], [1, 1]]
    assert fetch(helper, 'outputs["loss"]', "losses")[0].tolist() == [1.0, 2.0]
    assert fetch(helper, "outputs['_k']", "losses")[0].tolist() == [3.0]
    assert fetch(helper, "df['loss']", "losses")[0].tolist() == [0.5, 1.0]
    assert fetch(helper, "df['with space']", "losses")[0].tolist() == [1.0, 2.0]
    assert fetch(helper, "df[0]", "losses")[0].tolist() == [3.0, 4.0]
    assert fetch(helper, "df.loss", "losses")[0].tolist() == [0.5, 1.0]
    assert fetch(helper, "batches[-1]", "predictions")[0].tolist() == pytest.approx([0.3, 0.4])


def test_not_found_messages():
    helper = Helper({"model": Box(w=1), "d": {"a": 1}, "lst": [1]})
    assert fail(helper, "fetch-begin", "not-found", name="emb", role="embeddings") == (
        "no variable named 'emb' in the kernel — was the cell that defines it run?"
    )
    message = fail(helper, "fetch-begin", "not-found", name="model.emb", role="embeddings")
    assert "'model'" in message and "attribute 'emb'" in message
    message = fail(helper, "fetch-begin", "not-found", name="d['zz']", role="losses")
    assert "\"d\"" not in message and "'zz'" in message and "KeyError" in message
    message = fail(helper, "fetch-begin", "not-found", name="lst[5]", role="losses")
    assert "[5]" in message and "IndexError" in message


# --------------------------------------------------------------------------- fetch: sources

NUMPY_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float16", "float32", "float64", "bool", ">f8", ">i4"]


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_numpy_dtypes_convert_to_float32_embeddings(dtype):
    source = (np.arange(24) % 7).reshape(6, 4).astype(dtype)
    got, begin = fetch(Helper({"X": source}), "X", "embeddings")
    assert begin["dtype"] == "float32" and begin["shape"] == [6, 4]
    np.testing.assert_array_equal(got, source.astype(np.float32))


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_numpy_dtypes_convert_for_losses_and_labels(dtype):
    source = (np.arange(5) % 2).astype(dtype)
    helper = Helper({"v": source})
    np.testing.assert_array_equal(fetch(helper, "v", "losses")[0], source.astype(np.float32))
    labels, begin = fetch(helper, "v", "labels")
    assert begin["dtype"] == "int32" and "categories" not in begin
    np.testing.assert_array_equal(labels, source.astype(np.int32))


def test_layouts_views_and_memmap(tmp_path):
    base = np.arange(60, dtype=np.float64).reshape(6, 10)
    memmap = np.memmap(tmp_path / "emb.dat", dtype="float32", mode="w+", shape=(6, 10))
    memmap[:] = base
    memmap.flush()
    reopened = np.memmap(tmp_path / "emb.dat", dtype="float32", mode="r", shape=(6, 10))
    ns = {
        "fortran": np.asfortranarray(base),
        "strided": base[:, ::2],
        "transposed": base.T,
        "reversed": base[::-1],
        "mm": reopened,
    }
    helper = Helper(ns)
    for name, expected in [("fortran", base), ("strided", base[:, ::2]), ("transposed", base.T),
                           ("reversed", base[::-1]), ("mm", base)]:
        got, begin = fetch(helper, name, "embeddings")
        assert begin["shape"] == list(expected.shape)
        np.testing.assert_array_equal(got, expected.astype(np.float32))


def test_contiguous_float32_is_sent_without_copying():
    source = np.arange(40000, dtype=np.float32).reshape(200, 200)
    helper = Helper({"X": source})
    begin, _ = ok(helper, "fetch-begin", name="X", role="embeddings", chunk_bytes=65536)
    _, bufs = ok(helper, "fetch-chunk", index=1)
    assert np.shares_memory(np.frombuffer(bufs[0], dtype=np.uint8), source)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_torch_float_tensors(dtype, requires_grad):
    base = torch.arange(12, dtype=torch.float32).reshape(4, 3) / 4
    tensor = base.to(dtype).requires_grad_(requires_grad)
    helper = Helper({"t": tensor, "col": tensor[:, 0], "tt": tensor.T})
    expected = tensor.detach().to(torch.float32).numpy()
    np.testing.assert_array_equal(fetch(helper, "t", "embeddings")[0], expected)
    np.testing.assert_array_equal(fetch(helper, "tt", "embeddings")[0], expected.T)
    np.testing.assert_array_equal(fetch(helper, "col", "losses")[0], expected[:, 0])
    np.testing.assert_array_equal(fetch(helper, "col", "predictions")[0], expected[:, 0])


def test_torch_integer_bool_parameter_and_labels():
    ns = {
        "ints": torch.tensor([3, 1, 2], dtype=torch.int64),
        "u8": torch.tensor([[1, 2], [3, 4]], dtype=torch.uint8),
        "flags": torch.tensor([True, False, True]),
        "param": torch.nn.Parameter(torch.ones(3, 2)),
        "floatlabels": torch.tensor([0.0, 2.0, 1.0], dtype=torch.bfloat16),
        "cplx": torch.zeros(3, 2, dtype=torch.complex64),
        "sparse": torch.eye(3).to_sparse(),
    }
    helper = Helper(ns)
    assert fetch(helper, "ints", "labels")[0].tolist() == [3, 1, 2]
    assert fetch(helper, "ints", "losses")[0].tolist() == [3.0, 1.0, 2.0]
    assert fetch(helper, "u8", "embeddings")[0].tolist() == [[1, 2], [3, 4]]
    assert fetch(helper, "flags", "labels")[0].tolist() == [1, 0, 1]
    assert fetch(helper, "param", "embeddings")[0].tolist() == [[1, 1]] * 3
    assert fetch(helper, "floatlabels", "labels")[0].tolist() == [0, 2, 1]
    assert fetch(helper, "sparse", "embeddings")[0].tolist() == np.eye(3).tolist()
    message = fail(helper, "fetch-begin", "non-numeric", name="cplx", role="embeddings")
    assert "'cplx'" in message and "complex64" in message


def test_array_protocol_objects():
    helper = Helper({"foreign": ArrayLike(np.arange(6).reshape(3, 2)), "lazy": ArrayLike([1.5, 2.5])})
    assert fetch(helper, "foreign", "embeddings")[0].tolist() == [[0, 1], [2, 3], [4, 5]]
    assert fetch(helper, "lazy", "losses")[0].tolist() == [1.5, 2.5]


def test_pandas_sources():
    ns = {
        "df": pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6], "c": [True, False, True]}),
        "nullable": pd.DataFrame({"a": pd.array([1, 2, 3], dtype="Int64"), "b": [0.5, 0.5, 0.5]}),
        "loss": pd.Series([0.1, 0.2, 0.3], dtype="float32"),
        "cat": pd.Series(["dog", "cat", None, "dog"], dtype=pd.CategoricalDtype(["dog", "cat"])),
        "words": pd.Series(["b", "a", None, "b"]),
        "objs": pd.Series(["x", None, 3, "x"], dtype=object),
        "ints": pd.Series([10, 20, 10]),
        "flags": pd.Series([True, False, True]),
        "nint": pd.Series([1, None, 2], dtype="Int64"),
        "mixed": pd.DataFrame({"a": [1, 2], "name": ["x", "y"], "when": pd.to_datetime(["2020", "2021"])}),
        "pcat": pd.Categorical(["b", "a", "b"]),
    }
    helper = Helper(ns)
    np.testing.assert_array_equal(fetch(helper, "df", "embeddings")[0],
                                  np.array([[1, 4, 1], [2, 5, 0], [3, 6, 1]], dtype=np.float32))
    assert fetch(helper, "nullable", "embeddings")[0].tolist() == [[1, 0.5], [2, 0.5], [3, 0.5]]
    assert fetch(helper, "loss", "losses")[0].tolist() == pytest.approx([0.1, 0.2, 0.3])
    codes, begin = fetch(helper, "cat", "labels")
    assert codes.tolist() == [0, 1, -1, 0] and begin["categories"] == ["dog", "cat"]
    codes, begin = fetch(helper, "words", "labels")
    assert codes.tolist() == [1, 0, -1, 1] and begin["categories"] == ["a", "b"]
    codes, begin = fetch(helper, "objs", "metadata")
    assert codes.tolist() == [1, -1, 0, 1] and begin["categories"] == ["3", "x"]
    assert fetch(helper, "ints", "labels")[0].tolist() == [10, 20, 10]
    codes, begin = fetch(helper, "ints", "metadata")
    assert codes.tolist() == [0, 1, 0] and begin["categories"] == ["10", "20"]
    codes, begin = fetch(helper, "flags", "metadata")
    assert codes.tolist() == [1, 0, 1] and begin["categories"] == ["False", "True"]
    message = fail(helper, "fetch-begin", "non-finite", name="nint", role="labels")
    assert "'nint' has 1 missing" in message and "indices 1;" in message
    message = fail(helper, "fetch-begin", "non-numeric", name="mixed", role="embeddings")
    assert "'name'" in message and "'when'" in message and "select_dtypes" in message
    codes, begin = fetch(helper, "pcat", "labels")
    assert codes.tolist() == [1, 0, 1] and begin["categories"] == ["a", "b"]
    codes, begin = fetch(helper, "df['b']", "metadata")
    assert begin["categories"] == ["4", "5", "6"]


def test_list_sources():
    ns = {
        "floats": [0.5, 1.5, 2.5],
        "rows": [[1, 2], [3, 4], [5, 6]],
        "tuples": ((1.0, 2.0), (3.0, 4.0)),
        "ragged": [[1, 2], [3]],
        "words": ["b", "a", "b", None],
        "arrays": [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
        "tensors": [torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0])],
        "bools": [True, False],
        "mixed": [1, "a"],
        "empty": [],
    }
    helper = Helper(ns)
    assert fetch(helper, "floats", "losses")[0].tolist() == [0.5, 1.5, 2.5]
    assert fetch(helper, "rows", "embeddings")[0].tolist() == [[1, 2], [3, 4], [5, 6]]
    assert fetch(helper, "tuples", "embeddings")[0].tolist() == [[1, 2], [3, 4]]
    message = fail(helper, "fetch-begin", "not-array", name="ragged", role="embeddings")
    assert "'ragged'" in message and "same length" in message
    codes, begin = fetch(helper, "words", "labels")
    assert codes.tolist() == [1, 0, 1, -1] and begin["categories"] == ["a", "b"]
    assert fetch(helper, "arrays", "embeddings")[0].tolist() == [[1, 2], [3, 4]]
    assert fetch(helper, "tensors", "embeddings")[0].tolist() == [[1, 2], [3, 4]]
    assert fetch(helper, "bools", "labels")[0].tolist() == [1, 0]
    message = fail(helper, "fetch-begin", "non-numeric", name="mixed", role="losses")
    assert "'mixed'" in message and "astype(float)" in message
    message = fail(helper, "fetch-begin", "empty", name="empty", role="losses")
    assert "'empty'" in message


def test_labels_and_metadata_encodings():
    ns = {
        "whole": np.array([0.0, 2.0, 1.0]),
        "fractional": np.array([0.0, 0.5, 1.0]),
        "huge": np.array([2**40, 5, 2**40], dtype=np.uint64),
        "bytes": np.array([b"b", b"a"]),
        "strings": np.array(["dog", "cat", "dog"]),
        "column": np.array([[1], [0], [1]]),
        "few": np.array([1.0, 2.5, np.nan, 1.0]),
        "continuous": np.linspace(0, 1, 1000),
        "dates": np.array(["2020-01-01"], dtype="datetime64[D]"),
    }
    helper = Helper(ns)
    assert fetch(helper, "whole", "labels")[0].tolist() == [0, 2, 1]
    message = fail(helper, "fetch-begin", "bad-dtype", name="fractional", role="labels")
    assert "'fractional'" in message and "0.5" in message and "predictions" in message
    codes, begin = fetch(helper, "huge", "labels")
    assert codes.tolist() == [1, 0, 1] and begin["categories"] == ["5", str(2**40)]
    codes, begin = fetch(helper, "bytes", "labels")
    assert codes.tolist() == [1, 0] and begin["categories"] == ["a", "b"]
    codes, begin = fetch(helper, "strings", "metadata")
    assert codes.tolist() == [1, 0, 1] and begin["categories"] == ["cat", "dog"]
    assert fetch(helper, "column", "labels")[0].tolist() == [1, 0, 1]
    codes, begin = fetch(helper, "few", "metadata")
    assert codes.tolist() == [0, 1, -1, 0] and begin["categories"] == ["1", "2.5"]
    message = fail(helper, "fetch-begin", "bad-dtype", name="continuous", role="metadata")
    assert "'continuous'" in message and "1,000 distinct" in message and "pd.cut" in message
    message = fail(helper, "fetch-begin", "bad-dtype", name="dates", role="labels")
    assert "'dates'" in message and "datetime64" in message


def test_too_many_categories_is_refused():
    helper = Helper({"ids": np.arange(70000).astype(str)})
    message = fail(helper, "fetch-begin", "bad-dtype", name="ids", role="metadata")
    assert "'ids'" in message and "65,536" in message


# --------------------------------------------------------------------------- fetch: checks

def test_ndim_checks_name_the_variable_and_the_fix():
    ns = {"vec": np.zeros(5), "mat": np.zeros((5, 3)), "cube": np.zeros((5, 2, 2)),
          "df": pd.DataFrame({"a": [1.0], "b": [2.0]}), "scalar": np.float32(1.0)}
    helper = Helper(ns)
    message = fail(helper, "fetch-begin", "bad-ndim", name="vec", role="embeddings")
    assert "embeddings 'vec' must be 2-D (N × D)" in message and "got shape (5,)" in message
    assert "vec.reshape(-1, 1)" in message
    message = fail(helper, "fetch-begin", "bad-ndim", name="cube", role="embeddings")
    assert "got shape (5, 2, 2)" in message and "cube.reshape(len(cube), -1)" in message
    message = fail(helper, "fetch-begin", "bad-ndim", name="mat", role="losses")
    assert "losses 'mat' must be 1-D" in message and "got shape (5, 3)" in message
    message = fail(helper, "fetch-begin", "bad-ndim", name="df", role="labels")
    assert "df['column']" in message
    message = fail(helper, "fetch-begin", "bad-ndim", name="scalar", role="losses")
    assert "got a scalar" in message


def test_empty_and_not_array():
    helper = Helper({"none": np.zeros((0, 3)), "cfg": {"a": 1}, "noshape": np.zeros((4, 0))})
    message = fail(helper, "fetch-begin", "empty", name="none", role="embeddings")
    assert "embeddings 'none' is empty (shape (0, 3))" in message
    fail(helper, "fetch-begin", "empty", name="noshape", role="embeddings")
    message = fail(helper, "fetch-begin", "not-array", name="cfg", role="embeddings")
    assert "'cfg' is a dict, not an array" in message


def test_non_numeric():
    helper = Helper({"words": np.array(["a", "b"]), "cats": pd.Series(["a"], dtype="category"),
                     "objs": np.array([object(), object()], dtype=object)})
    message = fail(helper, "fetch-begin", "non-numeric", name="words", role="losses")
    assert "losses 'words' has dtype <U1, which is not numeric" in message
    fail(helper, "fetch-begin", "non-numeric", name="cats", role="predictions")
    message = fail(helper, "fetch-begin", "non-numeric", name="objs", role="losses")
    assert "'objs'" in message and "not numbers" in message


def test_non_finite_reports_counts_and_first_indices():
    losses = np.zeros(100)
    losses[[3, 8, 20, 30, 40, 50, 60]] = np.nan
    losses[[9]] = np.inf
    emb = np.zeros((10, 4), dtype=np.float32)
    emb[2, 1] = np.nan
    emb[7, 0] = -np.inf
    emb[7, 3] = np.nan
    big = np.array([1e39, 1.0])
    helper = Helper({"loss": losses, "emb": emb, "big": big})
    message = fail(helper, "fetch-begin", "non-finite", name="loss", role="losses")
    assert "losses 'loss' contains 7 NaN and 1 infinite value(s)" in message
    assert "indices 3, 8, 9, 20, 30" in message and "np.nan_to_num(loss)" in message
    message = fail(helper, "fetch-begin", "non-finite", name="emb", role="embeddings")
    assert "2 NaN and 1 infinite" in message and "rows 2, 7" in message
    message = fail(helper, "fetch-begin", "non-finite", name="big", role="predictions")
    assert "overflow float32" in message


def test_non_finite_scan_is_blockwise_and_finds_late_rows():
    emb = np.zeros((300000, 8), dtype=np.float32)
    emb[299999, 7] = np.nan
    message = fail(Helper({"emb": emb}), "fetch-begin", "non-finite", name="emb", role="embeddings")
    assert "rows 299,999" in message


def test_negative_losses():
    loss = np.array([0.5, -1.0, 0.0, -0.0, -2.0, 3.0])
    message = fail(Helper({"loss": loss}), "fetch-begin", "negative", name="loss", role="losses")
    assert "losses 'loss' has 2 negative value(s), first at indices 1, 4" in message
    assert "-loss" in message and "predictions" in message
    assert fetch(Helper({"loss": loss}), "loss", "predictions")[0].tolist() == loss.tolist()


def test_too_large_is_refused_before_converting():
    huge = np.broadcast_to(np.float64(0), (1_000_000, 1000))  # 8 GB view of one value
    helper = Helper({"X": huge, "small": np.zeros((10, 10))})
    before = rss_bytes()
    message = fail(helper, "fetch-begin", "too-large", name="X", role="embeddings", max_bytes=1 << 30)
    assert rss_bytes() - before < 50 << 20
    assert "embeddings 'X' would take 4.0 GB as float32 (shape (1000000, 1000))" in message
    assert "1.1 GB limit" in message
    assert "sample rows or reduce dimensions before auditing, e.g. X[::10]" in message
    message = fail(helper, "fetch-begin", "too-large", name="small", role="embeddings", max_bytes=100)
    assert "400 bytes" in message and "100 bytes limit" in message


def test_check_op_lengths():
    ns = {"emb": np.zeros((5000, 16)), "loss": np.zeros(4999), "good": np.zeros(5000),
          "y": ["a"] * 5000, "short": np.zeros(12), "pred": np.zeros((5000, 1))}
    helper = Helper(ns)
    data, _ = ok(helper, "check", embeddings="emb", losses="good", labels="y", predictions="pred")
    assert (data["n"], data["d"]) == (5000, 16)
    data, _ = ok(helper, "check", embeddings="emb", losses="good", labels=None)
    assert data["n"] == 5000
    message = fail(helper, "check", "length-mismatch", embeddings="emb", losses="loss")
    assert message.startswith("embeddings 'emb' has 5,000 rows but losses 'loss' has 4,999")
    message = fail(helper, "check", "length-mismatch", embeddings="emb", losses="good", labels="short")
    assert "labels 'short' has 12" in message
    fail(helper, "check", "bad-ndim", embeddings="loss", losses="good")
    fail(helper, "check", "not-found", embeddings="emb", losses="nope")
    fail(helper, "check", "bad-request", embeddings="emb")


# --------------------------------------------------------------------------- chunks

def test_chunks_reassemble_to_the_converted_bytes():
    source = np.random.default_rng(0).standard_normal((1000, 130))  # float64, ~520 KB as f4
    helper = Helper({"X": source})
    got, begin = fetch(helper, "X", "embeddings", chunk_bytes=65536)
    expected = np.ascontiguousarray(source, dtype="<f4")
    assert begin["chunk_bytes"] == 65536 and begin["nbytes"] == expected.nbytes
    assert begin["chunks"] == -(-expected.nbytes // 65536) == 8
    assert begin["checksum"] == zlib.crc32(expected.tobytes())
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("requested, used", [
    (None, 4 << 20), (1, 64 << 10), (65541, 65536), (1 << 30, 32 << 20), (100003, 100000),
])
def test_chunk_size_is_clamped_and_aligned(requested, used):
    fields = {} if requested is None else {"chunk_bytes": requested}
    begin, _ = ok(Helper({"X": np.zeros((10, 2))}), "fetch-begin", name="X", role="embeddings", **fields)
    assert begin["chunk_bytes"] == used and begin["chunks"] == 1


def test_transfer_lifecycle():
    helper = Helper({"X": np.arange(40000, dtype=np.float32).reshape(100, 400)})
    begin, _ = ok(helper, "fetch-begin", request_id="t1", name="X", role="embeddings", chunk_bytes=65536)
    assert begin["chunks"] == 3
    reply, bufs = ok(helper, "fetch-chunk", request_id="c9", transfer_id="t1", index=2)
    assert reply["transfer_id"] == "t1" and reply["offset"] == 131072 and reply["nbytes"] == 160000 - 131072
    fail(helper, "fetch-chunk", "bad-request", request_id="t1", index=3)
    fail(helper, "fetch-chunk", "bad-request", request_id="t1", index=-1)
    reply, _ = ok(helper, "fetch-end", request_id="e1", transfer_id="t1")
    assert reply["transfer_id"] == "t1"
    message = fail(helper, "fetch-chunk", "unknown-request", request_id="t1", index=0)
    assert "'t1'" in message and "start the fetch again" in message
    ok(helper, "fetch-end", request_id="t1")  # cancelling twice is harmless


def test_old_transfers_are_evicted():
    helper = Helper({"X": np.zeros((4, 2))})
    for i in range(5):
        ok(helper, "fetch-begin", request_id="b%d" % i, name="X", role="embeddings")
    assert len(helper.transfers) == 4
    fail(helper, "fetch-chunk", "unknown-request", request_id="b0", index=0)
    ok(helper, "fetch-chunk", request_id="b4", index=0)
    helper.close()
    assert helper.transfers == {}


# --------------------------------------------------------------------------- fetch: file transport

@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Point ``tempfile.gettempdir()`` at this test's folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def transfer_folder():
    return pathlib.Path(Helper.transfer_directory())


def test_file_transport_writes_a_private_file(private_tmp):
    source = np.asfortranarray(np.random.default_rng(1).standard_normal((3000, 700)))  # float64, F-order
    helper = Helper({"X": source})
    begin, _ = ok(helper, "fetch-begin", request_id="f", name="X", role="embeddings", via="file")
    assert begin["via"] == "file" and "via_reason" not in begin
    assert re.fullmatch(r"[0-9a-f]{32}", begin["token"])
    folder = transfer_folder()
    assert folder == private_tmp / ("jupyterlab-spotlight-%d" % os.getuid())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    path = folder / begin["token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.getuid()
    assert os.listdir(folder) == [begin["token"]]  # no .part left
    payload = path.read_bytes()
    assert payload == source.astype("<f4", order="C").tobytes()
    assert len(payload) == begin["nbytes"] and zlib.crc32(payload) == begin["checksum"]
    # The comm chunks stay available (the browser's fallback when the server cannot serve it).
    _, bufs = ok(helper, "fetch-chunk", request_id="f", index=0)
    assert bytes(bufs[0]) == payload[:begin["chunk_bytes"]]
    ok(helper, "fetch-end", request_id="f")
    assert not path.exists()
    ok(helper, "fetch-end", request_id="f")  # twice is harmless


def test_file_transport_checksum_matches_the_comm_checksum(private_tmp):
    helper = Helper({"y": np.array(["b", "a", "b", "c"] * 1000)})
    by_file, _ = ok(helper, "fetch-begin", request_id="a", name="y", role="labels", via="file")
    by_comm, _ = ok(helper, "fetch-begin", request_id="b", name="y", role="labels", via="comm")
    plain, _ = ok(helper, "fetch-begin", request_id="c", name="y", role="labels")
    assert by_file["checksum"] == by_comm["checksum"] == plain["checksum"]
    assert by_file["categories"] == ["a", "b", "c"]
    assert by_comm["via"] == "comm" and "token" not in by_comm and "via_reason" not in by_comm
    assert "via" not in plain  # replies to requests without 'via' are unchanged
    assert os.listdir(transfer_folder()) == [by_file["token"]]


def test_file_transport_refuses_an_unsafe_folder_and_says_why(private_tmp):
    folder = transfer_folder()
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    helper = Helper({"X": np.ones((4, 2), np.float32)})
    begin, _ = ok(helper, "fetch-begin", request_id="f", name="X", role="embeddings", via="file")
    assert begin["via"] == "comm" and "token" not in begin
    assert str(folder) in begin["via_reason"] and "0700" in begin["via_reason"]
    assert fetch(helper, "X", "embeddings", request_id="g")[0].tolist() == [[1, 1]] * 4
    assert os.listdir(folder) == []
    folder.rmdir()
    elsewhere = private_tmp / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.symlink_to(elsewhere)
    begin, _ = ok(helper, "fetch-begin", request_id="h", name="X", role="embeddings", via="file")
    assert begin["via"] == "comm" and "not a private folder" in begin["via_reason"]
    assert os.listdir(elsewhere) == []


def test_file_transport_needs_free_space(private_tmp, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    helper = Helper({"X": np.ones((4, 2), np.float32)})
    begin, _ = ok(helper, "fetch-begin", request_id="f", name="X", role="embeddings", via="file")
    assert begin["via"] == "comm" and "has 1.0 kB free, too little for 32 bytes" in begin["via_reason"]


def test_a_failed_write_leaves_nothing_behind(private_tmp, monkeypatch):
    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    helper = Helper({"X": np.ones((4, 2), np.float32)})
    begin, _ = ok(helper, "fetch-begin", request_id="f", name="X", role="embeddings", via="file")
    assert begin["via"] == "comm" and "No space left on device" in begin["via_reason"]
    assert os.listdir(transfer_folder()) == []


def test_bad_via_is_refused():
    message = fail(Helper({"X": np.ones((4, 2))}), "fetch-begin", "bad-request", name="X", role="embeddings",
                   via="http")
    assert "'via'" in message and "comm, file" in message


def test_evicted_and_closed_transfers_delete_their_files(private_tmp):
    helper = Helper({"X": np.ones((4, 2), np.float32)})
    tokens = [ok(helper, "fetch-begin", request_id="b%d" % i, name="X", role="embeddings", via="file")[0]["token"]
              for i in range(5)]
    assert sorted(os.listdir(transfer_folder())) == sorted(tokens[1:])  # the oldest was evicted
    helper.close()
    assert os.listdir(transfer_folder()) == [] and helper.transfers == {}


def test_stale_files_are_removed(private_tmp):
    helper = Helper({"X": np.ones((4, 2), np.float32)})
    fresh = ok(helper, "fetch-begin", request_id="f", name="X", role="embeddings", via="file")[0]["token"]
    folder = transfer_folder()
    now = time.time()
    old = now - 2 * 3600
    stale = ["1" * 32, "2" * 32 + ".part"]
    kept = ["notes.txt", "3" * 31, "4" * 32 + ".tmp"]
    for name in stale + kept:
        (folder / name).write_bytes(b"x")
        os.utime(folder / name, (old, old))
    outside = private_tmp / "outside.bin"
    outside.write_bytes(b"x")
    os.utime(outside, (old, old))
    (folder / ("5" * 32)).symlink_to(outside)
    (folder / ("6" * 32)).mkdir()
    os.utime(folder / ("6" * 32), (old, old))
    assert Helper.remove_stale_files(now=now) == 2
    assert sorted(os.listdir(folder)) == sorted([fresh, "5" * 32, "6" * 32] + kept)
    assert outside.exists()
    assert Helper.remove_stale_files(max_age=0, now=now + 1) == 1  # the fresh one, when it is old enough
    os.chmod(folder, 0o777)  # not private: never touched
    (folder / ("7" * 32)).write_bytes(b"x")
    assert Helper.remove_stale_files(max_age=0, now=now + 10) == 0
    assert (folder / ("7" * 32)).exists()


def test_stale_cleanup_without_a_folder_is_a_no_op(private_tmp):
    assert Helper.remove_stale_files() == 0
    assert not transfer_folder().exists()


# --------------------------------------------------------------------------- examples

def image_page(helper, name, indices):
    reply, bufs = ok(helper, "examples", name=name, indices=indices)
    assert reply["kind"] == "image" and reply["dtype"] == "uint8" and reply["indices"] == indices
    assert "items" not in reply
    return np.frombuffer(bytes(bufs[0]), dtype=np.uint8).reshape(reply["shape"])


def test_examples_images():
    rgb = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
    unit = np.array([[[0.0, 0.5], [1.0, 0.25]]] * 3)
    wide = np.array([[[-1.0, 1.0], [0.0, np.nan]]])
    ns = {
        "rgb": rgb,
        "rgba": np.concatenate([rgb, np.full((4, 2, 2, 1), 9, np.uint8)], axis=-1),
        "unit": unit,
        "wide": wide,
        "flat": np.full((2, 2, 2), 7.5),
        "mask": np.array([[[True, False]]]),
        "int16": np.array([[[-100, 100]]], dtype=np.int16),
        "small_ints": np.array([[[0, 200]]], dtype=np.int64),
        "nchw": torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2) / 23,
        "gray4": torch.zeros(3, 5, 5, 1, dtype=torch.bfloat16),
    }
    helper = Helper(ns)
    page = image_page(helper, "rgb", [2, 0])
    np.testing.assert_array_equal(page, rgb[[2, 0]])
    np.testing.assert_array_equal(image_page(helper, "rgba", [1]), rgb[[1]])
    np.testing.assert_array_equal(image_page(helper, "unit", [0])[..., 0], [[[0, 128], [255, 64]]])
    np.testing.assert_array_equal(image_page(helper, "wide", [0])[..., 0], [[[0, 255], [128, 0]]])
    np.testing.assert_array_equal(image_page(helper, "flat", [0, 1]), np.full((2, 2, 2, 1), 128))
    np.testing.assert_array_equal(image_page(helper, "mask", [0])[..., 0], [[[255, 0]]])
    np.testing.assert_array_equal(image_page(helper, "int16", [0])[..., 0], [[[0, 255]]])
    np.testing.assert_array_equal(image_page(helper, "small_ints", [0])[..., 0], [[[0, 200]]])
    page = image_page(helper, "nchw", [1])
    assert page.shape == (1, 2, 2, 3)
    expected = np.rint(np.moveaxis(ns["nchw"][[1]].numpy(), 1, -1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(page, expected)
    assert image_page(helper, "gray4", [0, 2]).shape == (2, 5, 5, 1)


def test_examples_text_table_value():
    frame = pd.DataFrame({
        "n": np.array([1, 2], dtype=np.int64), "x": [0.5, np.nan], "flag": [True, False],
        "when": pd.to_datetime(["2021-03-04", None]), "city": pd.Categorical(["Oslo", "Lima"]),
        "s": ["a", None],
    })
    ns = {
        "texts": ["first", "<b>second</b>", "x" * 20000],
        "arr": np.array(["p", "q"]),
        "ser": pd.Series(["u", None]),
        "df": frame,
        "loss": np.array([0.5, np.nan, 2.0], dtype=np.float32),
        "cats": pd.Series(["a", "b"], dtype="category"),
        "objs": [{"a": 1}, None],
        "t": torch.tensor([1.5, 2.5], dtype=torch.bfloat16),
        "emb": np.zeros((3, 4)),
        "cfg": {"a": 1},
    }
    helper = Helper(ns)
    reply, bufs = ok(helper, "examples", name="texts", indices=[1, 2])
    assert reply["kind"] == "text" and bufs == []
    assert reply["items"][0] == "<b>second</b>"
    assert len(reply["items"][1]) == 10000 and reply["items"][1].endswith("…")
    assert ok(helper, "examples", name="arr", indices=[1])[0]["items"] == ["q"]
    assert ok(helper, "examples", name="ser", indices=[0, 1])[0]["items"] == ["u", None]
    reply, _ = ok(helper, "examples", name="df", indices=[1, 0])
    assert reply["kind"] == "table" and reply["n_columns"] == 6
    assert reply["columns"] == ["n", "x", "flag", "when", "city", "s"]
    assert reply["items"] == [
        [2, None, False, None, "Lima", None],
        [1, 0.5, True, "2021-03-04T00:00:00", "Oslo", "a"],
    ]
    reply, _ = ok(helper, "examples", name="loss", indices=[0, 1, 2])
    assert reply["kind"] == "value" and reply["items"] == [0.5, None, 2.0]
    assert ok(helper, "examples", name="cats", indices=[1])[0]["items"] == ["b"]
    assert ok(helper, "examples", name="objs", indices=[0, 1])[0]["items"] == ["{'a': 1}", None]
    assert ok(helper, "examples", name="t", indices=[1])[0]["items"] == [2.5]
    message = fail(helper, "examples", "bad-ndim", name="emb", indices=[0])
    assert "'emb'" in message and "(3, 4)" in message
    fail(helper, "examples", "not-array", name="cfg", indices=[0])
    message = fail(helper, "examples", "bad-request", name="loss", indices=[3])
    assert "index 3 is out of range" in message and "3 rows" in message
    fail(helper, "examples", "bad-request", name="loss", indices=[-1])
    fail(helper, "examples", "bad-request", name="loss", indices=[])
    fail(helper, "examples", "bad-request", name="loss", indices=[True])
    fail(helper, "examples", "bad-request", name="loss", indices=list(range(201)))


def test_examples_wide_table_is_cut_to_100_columns():
    frame = pd.DataFrame(np.zeros((2, 150)))
    reply, _ = ok(Helper({"df": frame}), "examples", name="df", indices=[0])
    assert len(reply["columns"]) == 100 and reply["n_columns"] == 150 and len(reply["items"][0]) == 100


# --------------------------------------------------------------------------- upload

def upload(helper, name, array, dtype, chunk=8, shuffle=False, checksum=None, request_id="u1"):
    payload = np.ascontiguousarray(array, dtype={"float32": "<f4", "int32": "<i4", "uint8": "u1"}[dtype]).tobytes()
    ok(helper, "upload-begin", request_id=request_id, name=name, dtype=dtype, shape=list(array.shape),
       nbytes=len(payload), checksum=zlib.crc32(payload) if checksum is None else checksum)
    offsets = list(range(0, len(payload), chunk))
    order = list(range(len(offsets)))
    if shuffle:  # chunks may arrive in any order
        order = order[1::2] + order[::2]
    for index in order:
        offset = offsets[index]
        reply, _ = ok(helper, "upload-chunk", [payload[offset:offset + chunk]], request_id=request_id,
                      index=index, offset=offset)
        assert reply["index"] == index
    return call(helper, "upload-end", request_id=request_id)[0]


@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8"])
def test_upload_round_trip(dtype):
    ns = {}
    array = np.arange(24).reshape(2, 3, 4).astype(dtype)
    reply = upload(Helper(ns), "slices", array, dtype, chunk=8, shuffle=True)
    assert reply["op"] == "upload-end"
    assert (reply["name"], reply["shape"], reply["dtype"]) == ("slices", [2, 3, 4], dtype)
    assert ns["slices"].dtype == np.dtype(dtype) and ns["slices"].shape == (2, 3, 4)
    np.testing.assert_array_equal(ns["slices"], array)
    ns["slices"][0, 0, 0] = 99  # the bound array is an ordinary writable array


def test_upload_failures_bind_nothing():
    ns = {}
    helper = Helper(ns)
    reply = upload(helper, "bad", np.ones(4), "float32", checksum=123)
    assert reply["op"] == "error" and reply["code"] == "checksum" and "'bad'" in reply["message"]
    assert "nothing was bound" in reply["message"]
    ok(helper, "upload-begin", request_id="u2", name="part", dtype="float32", shape=[4], nbytes=16, checksum=0)
    ok(helper, "upload-chunk", [b"\0" * 8], request_id="u2", index=0, offset=0)
    message = fail(helper, "upload-end", "bad-request", request_id="u2")
    assert "incomplete" in message and "8 of 16 bytes" in message
    fail(helper, "upload-end", "unknown-request", request_id="u2")
    ok(helper, "upload-begin", request_id="u3", name="over", dtype="uint8", shape=[4], nbytes=4, checksum=0)
    fail(helper, "upload-chunk", "bad-request", [b"\0" * 8], request_id="u3", index=0, offset=0)
    fail(helper, "upload-chunk", "unknown-request", [b"\0"], request_id="u3", index=0, offset=0)
    assert ns == {}


@pytest.mark.parametrize("name", ["_x", "os.system", "class", "a b", "x)", "", None])
def test_upload_names_must_be_plain_identifiers(name):
    message = fail(Helper({}), "upload-begin", "bad-name", name=name, dtype="uint8", shape=[1],
                   nbytes=1, checksum=0)
    assert "identifier" in message


def test_upload_request_validation():
    helper = Helper({})
    base = dict(name="x", dtype="float32", shape=[2], nbytes=8, checksum=0)
    fail(helper, "upload-begin", "bad-request", **{**base, "dtype": "float64"})
    message = fail(helper, "upload-begin", "bad-request", **{**base, "nbytes": 9})
    assert "needs 8" in message
    fail(helper, "upload-begin", "bad-request", **{**base, "shape": [-1]})
    fail(helper, "upload-begin", "bad-request", **{**base, "checksum": -1})
    ok(helper, "upload-begin", **base)
    fail(helper, "upload-chunk", "bad-request", [], index=0, offset=0)


def test_zero_size_upload():
    ns = {}
    reply = upload(Helper(ns), "nothing", np.zeros((0, 3)), "float32")
    assert reply["op"] == "upload-end" and ns["nothing"].shape == (0, 3)


# --------------------------------------------------------------------------- envelope

def test_envelope_errors():
    helper = Helper({})
    (data, _), = helper.handle({"version": 2, "op": "hello", "request_id": "a"}, [])
    assert data["code"] == "bad-request" and "version" in data["message"] and data["request_id"] == "a"
    (data, _), = helper.handle({"version": 1, "op": "nope", "request_id": "a"}, [])
    assert data["code"] == "bad-request" and "'nope'" in data["message"]
    (data, _), = helper.handle({"version": 1, "op": "hello"}, [])
    assert data["code"] == "bad-request" and data["request_id"] is None
    (data, _), = helper.handle(["not", "a", "dict"], [])
    assert data["code"] == "bad-request" and data["op"] == "error"
    fail(helper, "fetch-begin", "bad-request", name="x", role="examples")
    fail(helper, "fetch-begin", "bad-request", name="x", role="losses", max_bytes="big")
    fail(helper, "fetch-begin", "bad-request", name=3, role="losses")


def test_internal_errors_are_reported(monkeypatch):
    helper = Helper({"x": np.zeros(3)})

    def explode(*args):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(helper, "_convert", explode)
    message = fail(helper, "fetch-begin", "internal", name="x", role="losses")
    assert "ZeroDivisionError: oops" in message and "'fetch-begin'" in message


def test_hello():
    data, _ = ok(Helper({}), "hello")
    assert data["protocol"] == 1 and data["helper"] == "0.1.0"
    assert data["numpy"] == np.__version__ and data["python"].count(".") == 2
    assert "check" in data["ops"] and "upload-end" in data["ops"]


def test_helper_prints_nothing(capsys):
    helper = Helper({"x": np.array([np.nan, 1.0]), "y": np.zeros((3, 2)), "img": np.zeros((2, 2, 2))})
    helper.handle({"version": 1, "op": "list", "request_id": "1"}, [])
    helper.handle({"version": 1, "op": "fetch-begin", "request_id": "2", "name": "x", "role": "losses"}, [])
    helper.handle({"version": 1, "op": "fetch-begin", "request_id": "3", "name": "x", "role": "metadata"}, [])
    helper.handle({"version": 1, "op": "examples", "request_id": "4", "name": "img", "indices": [0]}, [])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# --------------------------------------------------------------------------- injection

def test_source_is_self_contained_when_executed_like_the_frontend():
    source = SOURCE_PATH.read_text()
    user_ns = {"emb": np.zeros((3, 2))}
    exec(compile(source, "<jupyterlab-spotlight>", "exec"), user_ns)
    exec(compile(source, "<jupyterlab-spotlight>", "exec"), user_ns)  # re-injection is fine
    assert set(user_ns) == {"__builtins__", "emb", "_JupyterlabSpotlightHelper",
                            "_jupyterlab_spotlight_register"}
    with pytest.raises(RuntimeError, match="must run inside an IPython kernel"):
        user_ns["_jupyterlab_spotlight_register"]()
    helper = user_ns["_JupyterlabSpotlightHelper"](user_ns)
    (data, _), = helper.handle({"version": 1, "op": "list", "request_id": "x"}, [])
    assert [v["name"] for v in data["variables"]] == ["emb"]


def test_source_imports_only_stdlib_and_numpy():
    code = (
        "import sys\n"
        "exec(open(%r).read(), {})\n"
        "print(sorted(m for m in ('torch', 'pandas', 'IPython', 'jupyterlab_spotlight') if m in sys.modules))\n"
        % str(SOURCE_PATH)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""


def test_live_kernel_comm_round_trip(tmp_path):
    from jupyter_client.manager import start_new_kernel

    # The kernel's tempfile.gettempdir() is tmp_path; a file left by a dead kernel waits there.
    folder = tmp_path / ("jupyterlab-spotlight-%d" % os.getuid())
    folder.mkdir(mode=0o700)
    stale = folder / ("f" * 32)
    stale.write_bytes(b"left behind")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    km, kc = start_new_kernel(kernel_name="python3", env=dict(os.environ, TMPDIR=str(tmp_path)))
    try:
        source = SOURCE_PATH.read_text()
        outputs = []
        for _ in range(2):  # injecting twice is harmless
            reply = kc.execute_interactive(
                source + "\n_jupyterlab_spotlight_register()\n", silent=True, store_history=False,
                timeout=30, output_hook=outputs.append,
            )
            assert reply["content"]["status"] == "ok"
        assert [m for m in outputs if m["msg_type"] not in ("status",)] == []
        assert not stale.exists()  # removed at injection
        kc.execute_interactive("import numpy as np\nemb = np.arange(40000, dtype='f4').reshape(200, 200)",
                               timeout=30, output_hook=lambda m: None)
        reply = kc.execute_interactive("", user_expressions={
            "targets": "sorted(get_ipython().kernel.comm_manager.targets)",
            "names": "sorted(k for k in globals() if 'spotlight' in k.lower())",
        }, timeout=30, output_hook=lambda m: None)
        expressions = reply["content"]["user_expressions"]
        assert "jupyterlab-spotlight" in expressions["targets"]["data"]["text/plain"]
        assert expressions["names"]["data"]["text/plain"] == \
            "['_JupyterlabSpotlightHelper', '_jupyterlab_spotlight_register']"

        comm_id = uuid.uuid4().hex

        def send(data, buffers=None, msg_type="comm_msg"):
            content = {"comm_id": comm_id, "data": data}
            if msg_type == "comm_open":
                content["target_name"] = "jupyterlab-spotlight"
            kc.session.send(kc.shell_channel.socket, msg_type, content, buffers=buffers)

        def receive():
            deadline = time.time() + 10
            while time.time() < deadline:
                msg = kc.get_iopub_msg(timeout=10)
                if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
                    return msg["content"]["data"], [bytes(b) for b in msg.get("buffers") or []]
            raise AssertionError("no comm reply")

        send({}, msg_type="comm_open")
        send({"version": 1, "op": "hello", "request_id": "h"})
        assert receive()[0]["protocol"] == 1
        send({"version": 1, "op": "fetch-begin", "request_id": "f", "name": "emb", "role": "embeddings",
              "chunk_bytes": 65536})
        begin, _ = receive()
        assert begin["op"] == "fetch-begin" and begin["chunks"] == 3
        payload = b""
        for index in range(3):
            send({"version": 1, "op": "fetch-chunk", "request_id": "f", "index": index})
            data, buffers = receive()
            assert data["index"] == index
            payload += buffers[0]
        assert zlib.crc32(payload) == begin["checksum"]
        assert payload == np.arange(40000, dtype="<f4").tobytes()

        send({"version": 1, "op": "fetch-begin", "request_id": "ff", "name": "emb", "role": "embeddings",
              "via": "file"})
        begin, _ = receive()
        assert begin["via"] == "file", begin
        assert (folder / begin["token"]).read_bytes() == payload
        send({"version": 1, "op": "fetch-end", "request_id": "ff"})
        assert receive()[0]["op"] == "fetch-end"
        assert os.listdir(folder) == []

        upload_bytes = np.array([1, 2, 3], dtype="<i4").tobytes()
        send({"version": 1, "op": "upload-begin", "request_id": "u", "name": "picked", "dtype": "int32",
              "shape": [3], "nbytes": 12, "checksum": zlib.crc32(upload_bytes)})
        assert receive()[0]["op"] == "upload-begin"
        send({"version": 1, "op": "upload-chunk", "request_id": "u", "index": 0, "offset": 0},
             buffers=[upload_bytes])
        assert receive()[0]["op"] == "upload-chunk"
        send({"version": 1, "op": "upload-end", "request_id": "u"})
        assert receive()[0]["op"] == "upload-end"
        reply = kc.execute_interactive("", user_expressions={"picked": "picked.tolist()"}, timeout=30,
                                       output_hook=lambda m: None)
        assert reply["content"]["user_expressions"]["picked"]["data"]["text/plain"] == "[1, 2, 3]"
        send({}, msg_type="comm_close")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# --------------------------------------------------------------------------- principal components

def low_rank_embeddings(n=400, d=24, seed=3):
    """Embeddings with a clear variance spectrum (distinct leading eigenvalues) and an offset."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10.0, 0.1, d)
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (rng.normal(size=(n, d)) * scales @ basis.T + 3.0).astype(np.float32)


def fetch_projection(helper, name, components, request_id="p1"):
    """A whole fetch with ``components``; returns (coordinates, mean, components, begin reply)."""
    begin, bufs = ok(helper, "fetch-begin", request_id=request_id, name=name, role="embeddings",
                     components=components)
    assert len(bufs) == 2
    mean = np.frombuffer(bytes(bufs[0]), "<f4")
    top = np.frombuffer(bytes(bufs[1]), "<f4").reshape(components, -1)
    payload = b"".join(
        bytes(ok(helper, "fetch-chunk", request_id=request_id, index=i)[1][0])
        for i in range(begin["chunks"]))
    ok(helper, "fetch-end", request_id=request_id)
    assert zlib.crc32(payload) == begin["checksum"]
    coordinates = np.frombuffer(payload, "<f4").reshape(begin["shape"])
    return coordinates, mean, top, begin


def test_components_project_like_numpy_pca_up_to_sign():
    x = low_rank_embeddings()
    k = 5
    coordinates, mean, top, begin = fetch_projection(Helper({"emb": x}), "emb", k)
    assert begin["dtype"] == "float32" and begin["shape"] == [400, k]
    assert begin["nbytes"] == 400 * k * 4 and coordinates.dtype == np.dtype("<f4")
    assert mean.shape == (24,) and top.shape == (k, 24)
    assert begin["components"] == k and begin["source_shape"] == [400, 24]
    assert begin["source_checksum"] == zlib.crc32(x.tobytes())
    assert begin["projection_checksum"] == zlib.crc32(top.tobytes(), zlib.crc32(mean.tobytes()))
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(mean, x64.mean(axis=0), rtol=1e-6)
    signs = np.sign((top * vt[:k]).sum(axis=1))
    np.testing.assert_allclose(top, vt[:k] * signs[:, None], atol=1e-5)
    np.testing.assert_allclose(coordinates, centred @ vt[:k].T * signs, rtol=1e-4, atol=1e-4)
    ratio = singular ** 2 / (singular ** 2).sum()
    np.testing.assert_allclose(begin["explained_variance_ratio"], ratio[:k], rtol=1e-9)
    assert begin["explained_variance_ratio"] == sorted(begin["explained_variance_ratio"], reverse=True)
    # Orthonormal rows; sign convention: the largest-magnitude entry of each row is positive.
    np.testing.assert_allclose(top @ top.T, np.eye(k), atol=1e-6)
    assert (top[np.arange(k), np.abs(top).argmax(axis=1)] > 0).all()


def test_components_coordinates_are_the_float32_projection_the_browser_gets():
    x = low_rank_embeddings(n=300, d=10)
    coordinates, mean, top, _ = fetch_projection(Helper({"emb": x}), "emb", 3)
    expected = (x.astype(np.float64) - mean.astype(np.float64)) @ top.astype(np.float64).T
    np.testing.assert_array_equal(coordinates, expected.astype(np.float32))


def test_components_are_deterministic_and_follow_the_source():
    x = low_rank_embeddings(n=200, d=12)
    first = fetch_projection(Helper({"emb": x}), "emb", 4)
    again = fetch_projection(Helper({"emb": np.asfortranarray(x.astype(np.float64))}), "emb", 4)
    for a, b in zip(first[:3], again[:3]):
        np.testing.assert_array_equal(a, b)
    # Blocks of rows (a small block size) give the same projection up to rounding.
    helper = Helper({"emb": x})
    helper.PCA_BLOCK_VALUES = 12 * 7
    blocked = fetch_projection(helper, "emb", 4)
    np.testing.assert_allclose(blocked[0], first[0], atol=1e-4)
    np.testing.assert_allclose(blocked[2], first[2], atol=1e-5)


def test_components_zero_or_absent_is_the_plain_fetch():
    x = low_rank_embeddings(n=50, d=6)
    helper = Helper({"emb": x})
    begin, bufs = ok(helper, "fetch-begin", request_id="z", name="emb", role="embeddings", components=0)
    assert bufs == [] and begin["shape"] == [50, 6]
    assert not {"components", "source_shape", "explained_variance_ratio"} & set(begin)


def test_components_refusals_name_the_variable_and_d():
    helper = Helper({"emb": low_rank_embeddings(n=50, d=6), "loss": np.ones(50, np.float32),
                     "wide": np.zeros((3, 1100), np.float32)})
    message = fail(helper, "fetch-begin", "bad-request", name="emb", role="embeddings", components=6)
    assert "'emb'" in message and "D = 6" in message and "1 to 5" in message
    message = fail(helper, "fetch-begin", "bad-request", name="wide", role="embeddings",
                   components=1025)
    assert "'wide'" in message and "D = 1,100" in message and "at most 1,024" in message
    message = fail(helper, "fetch-begin", "bad-request", name="loss", role="losses", components=2)
    assert "embeddings only" in message and "'loss'" in message
    fail(helper, "fetch-begin", "bad-request", name="emb", role="embeddings", components=-1)
    fail(helper, "fetch-begin", "bad-request", name="emb", role="embeddings", components="2")


def test_components_size_check_is_on_the_projected_transfer():
    x = low_rank_embeddings(n=1000, d=50)
    helper = Helper({"emb": x})
    fail(helper, "fetch-begin", "too-large", name="emb", role="embeddings", max_bytes=1000 * 4 * 10)
    begin, _ = ok(helper, "fetch-begin", request_id="s", name="emb", role="embeddings",
                  max_bytes=1000 * 4 * 10, components=10)
    assert begin["nbytes"] == 1000 * 4 * 10


def test_components_of_constant_embeddings_explain_nothing():
    coordinates, _, top, begin = fetch_projection(Helper({"emb": np.ones((20, 4), np.float32)}), "emb", 2)
    assert begin["explained_variance_ratio"] == [0.0, 0.0]
    np.testing.assert_array_equal(coordinates, np.zeros((20, 2), np.float32))
    assert np.isfinite(top).all()


def test_components_travel_by_file_too(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    x = low_rank_embeddings(n=100, d=8)
    helper = Helper({"emb": x})
    begin, bufs = ok(helper, "fetch-begin", request_id="v", name="emb", role="embeddings",
                     components=3, via="file")
    assert begin["via"] == "file" and begin["shape"] == [100, 3] and len(bufs) == 2
    payload = (pathlib.Path(Helper.transfer_directory()) / begin["token"]).read_bytes()
    assert len(payload) == begin["nbytes"] and zlib.crc32(payload) == begin["checksum"]
    coordinates, _, _, _ = fetch_projection(Helper({"emb": x}), "emb", 3)
    assert payload == coordinates.tobytes()
    ok(helper, "fetch-end", request_id="v")

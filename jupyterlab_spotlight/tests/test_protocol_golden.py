"""The golden payloads in protocol/v1/ are exactly what the helper sends.

Each ``*-request.json`` is fed to one ``Helper`` in the order of ``CASES`` (fetches and
uploads span several requests) over ``golden_namespace()``, and the reply must equal the
paired golden file: ``data`` field by field (fields listed in ``volatile`` only need to
exist) and ``buffers_hex`` byte for byte. The TypeScript tests read the same files.
File-transport cases write into a private folder under the test's ``tmp_path``.
"""

import json
import os
import pathlib
import tempfile
import zlib

import numpy as np
import pandas as pd

from jupyterlab_spotlight.kernel_helper import Helper

GOLDEN_DIR = pathlib.Path(__file__).resolve().parents[2] / "protocol" / "v1"

CASES = [
    ("hello-request.json", "hello-reply.json"),
    ("list-request.json", "list-reply.json"),
    ("check-request.json", "check-reply.json"),
    ("check-mismatch-request.json", "error-length-mismatch.json"),
    ("fetch-begin-request.json", "fetch-begin-reply.json"),
    ("fetch-chunk-request.json", "fetch-chunk-reply.json"),
    ("fetch-end-request.json", "fetch-end-reply.json"),
    ("fetch-begin-components-request.json", "fetch-begin-components-reply.json"),
    ("fetch-chunk-components-request.json", "fetch-chunk-components-reply.json"),
    ("fetch-end-components-request.json", "fetch-end-components-reply.json"),
    ("fetch-begin-file-request.json", "fetch-begin-file-reply.json"),
    ("fetch-end-file-request.json", "fetch-end-file-reply.json"),
    ("fetch-begin-file-fallback-request.json", "fetch-begin-file-fallback-reply.json"),
    ("columns-request.json", "columns-reply.json"),
    ("fetch-begin-table-request.json", "fetch-begin-table-reply.json"),
    ("fetch-chunk-table-request.json", "fetch-chunk-table-reply.json"),
    ("fetch-end-table-request.json", "fetch-end-table-reply.json"),
    ("fetch-begin-labels-request.json", "fetch-begin-labels-reply.json"),
    ("fetch-chunk-labels-request.json", "fetch-chunk-labels-reply.json"),
    ("fetch-end-labels-request.json", "fetch-end-labels-reply.json"),
    ("fetch-begin-non-finite-request.json", "error-non-finite.json"),
    ("fetch-begin-negative-request.json", "error-negative.json"),
    ("fetch-begin-bad-ndim-request.json", "error-bad-ndim.json"),
    ("fetch-begin-not-found-request.json", "error-not-found.json"),
    ("fetch-begin-bad-name-request.json", "error-bad-name.json"),
    ("fetch-begin-too-large-request.json", "error-too-large.json"),
    ("fetch-chunk-unknown-request.json", "error-unknown-request.json"),
    ("examples-image-request.json", "examples-image-reply.json"),
    ("examples-text-request.json", "examples-text-reply.json"),
    ("examples-table-request.json", "examples-table-reply.json"),
    ("examples-value-request.json", "examples-value-reply.json"),
    ("upload-begin-request.json", "upload-begin-reply.json"),
    ("upload-chunk-request.json", "upload-chunk-reply.json"),
    ("upload-end-request.json", "upload-end-reply.json"),
    ("bad-op-request.json", "error-bad-request.json"),
]

UPLOADED = np.array([2, 0, 3], dtype=np.int32)


def golden_namespace():
    """The kernel variables the golden replies describe (4 examples, 3-D embeddings)."""
    return {
        "emb": np.arange(12, dtype=np.float32).reshape(4, 3) / 4,
        # Centred: (±2, 0, 0) and (0, ±1, 0); principal components e1, e2 (variance 8:2:0).
        "pcs": np.array([[3, 1, 5], [-1, 1, 5], [1, 2, 5], [1, 0, 5]], dtype=np.float32),
        "loss": np.array([0.5, 0.25, 2.0, 0.0], dtype=np.float32),
        "loss_short": np.array([0.5, 0.25, 2.0], dtype=np.float32),
        "loss_nan": np.array([0.5, np.nan, 2.0, np.inf], dtype=np.float32),
        "loss_neg": np.array([0.5, -0.25, 2.0, -1.0], dtype=np.float32),
        "y": np.array(["cat", "dog", "cat", "bird"]),
        "pred": np.array([0, 1, 0, 1], dtype=np.int64),
        "images": np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3),
        "texts": ["a good movie", "<i>bad</i>", "fine", "great plot"],
        "df": pd.DataFrame({
            "age": np.array([31, 45, 27, 60], dtype=np.int64),
            "smoker": np.array([False, True, False, False]),
        }),
        "vec": np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
        # A metadata table: strings with a missing value, and floats with a NaN.
        "meta": pd.DataFrame({
            "site": ["a", "b", None, "a"],
            "score": np.array([0.5, np.nan, 1.5, 2.0]),
        }),
    }


def transfer_folder():
    return pathlib.Path(Helper.transfer_directory())


# Run before a request: the fallback case needs a folder the helper must refuse.
BEFORE = {
    "fetch-begin-file-fallback-request.json": lambda: os.chmod(transfer_folder(), 0o777),
}


def load(name):
    return json.loads((GOLDEN_DIR / name).read_text(encoding="utf-8"))


def test_every_golden_file_is_checked():
    used = {name for pair in CASES for name in pair}
    assert {p.name for p in GOLDEN_DIR.glob("*.json")} == used


def test_golden_files_are_small_and_well_formed():
    for path in GOLDEN_DIR.glob("*.json"):
        golden = json.loads(path.read_text(encoding="utf-8"))
        assert set(golden) <= {"description", "data", "buffers_hex", "volatile"}, path.name
        assert isinstance(golden["description"], str) and golden["description"], path.name
        assert golden["data"]["version"] == 1 and isinstance(golden["data"]["op"], str), path.name
        assert isinstance(golden["data"]["request_id"], str), path.name
        for buffer in golden["buffers_hex"]:
            assert bytes.fromhex(buffer).hex() == buffer, path.name
        assert path.stat().st_size < 8192, path.name


def test_helper_reproduces_every_golden_reply(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace = golden_namespace()
    helper = Helper(namespace)
    for request_name, reply_name in CASES:
        BEFORE.get(request_name, lambda: None)()
        request = load(request_name)
        replies = helper.handle(request["data"], [bytes.fromhex(h) for h in request["buffers_hex"]])
        assert len(replies) == 1, request_name
        data, buffers = replies[0]
        data = json.loads(json.dumps(data))  # must be JSON-serialisable as sent
        expected = load(reply_name)
        for field in expected.get("volatile", []):
            assert field in data, (reply_name, field)
            data.pop(field)
            expected["data"].pop(field)
        assert data == expected["data"], reply_name
        assert [bytes(b).hex() for b in buffers] == expected["buffers_hex"], reply_name
    np.testing.assert_array_equal(namespace["picked"], UPLOADED)
    assert os.listdir(transfer_folder()) == []  # fetch-end deleted the file


def test_golden_file_transfer_holds_the_chunk_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    helper = Helper(golden_namespace())
    (begin, _), = helper.handle(load("fetch-begin-file-request.json")["data"], [])
    golden = load("fetch-begin-file-reply.json")["data"]
    assert begin["checksum"] == golden["checksum"] == load("fetch-begin-reply.json")["data"]["checksum"]
    payload = (transfer_folder() / begin["token"]).read_bytes()
    assert payload.hex() == load("fetch-chunk-reply.json")["buffers_hex"][0]
    assert zlib.crc32(payload) == golden["checksum"]
    helper.handle(load("fetch-end-file-request.json")["data"], [])
    assert not (transfer_folder() / begin["token"]).exists()


def test_golden_fetch_payloads_decode_to_the_variables():
    namespace = golden_namespace()
    begin = load("fetch-begin-reply.json")["data"]
    payload = bytes.fromhex(load("fetch-chunk-reply.json")["buffers_hex"][0])
    assert zlib.crc32(payload) == begin["checksum"]
    np.testing.assert_array_equal(
        np.frombuffer(payload, dtype="<f4").reshape(begin["shape"]), namespace["emb"])
    labels = load("fetch-begin-labels-reply.json")["data"]
    codes = np.frombuffer(bytes.fromhex(load("fetch-chunk-labels-reply.json")["buffers_hex"][0]), "<i4")
    assert [labels["categories"][c] for c in codes] == namespace["y"].tolist()
    table = load("fetch-begin-table-reply.json")["data"]
    values = np.frombuffer(bytes.fromhex(load("fetch-chunk-table-reply.json")["buffers_hex"][0]), "<f4")
    values = values.reshape(table["shape"])
    site, score = table["columns"]
    assert [site["categories"][int(c)] if c == c else None for c in values[0]] == ["a", "b", None, "a"]
    assert values[1].tolist()[0] == 0.5 and np.isnan(values[1][1]) and score["missing"] == 1
    upload = load("upload-chunk-request.json")["buffers_hex"][0]
    assert bytes.fromhex(upload) == UPLOADED.astype("<i4").tobytes()


def test_golden_components_payloads_decode_to_the_projection():
    pcs = golden_namespace()["pcs"]
    begin = load("fetch-begin-components-reply.json")
    mean_hex, components_hex = begin["buffers_hex"]
    mean = np.frombuffer(bytes.fromhex(mean_hex), "<f4")
    components = np.frombuffer(bytes.fromhex(components_hex), "<f4").reshape(2, 3)
    data = begin["data"]
    assert data["source_shape"] == list(pcs.shape)
    assert data["source_checksum"] == zlib.crc32(pcs.tobytes())
    assert data["projection_checksum"] == zlib.crc32(components.tobytes(), zlib.crc32(mean.tobytes()))
    payload = bytes.fromhex(load("fetch-chunk-components-reply.json")["buffers_hex"][0])
    assert zlib.crc32(payload) == data["checksum"]
    np.testing.assert_array_equal(
        np.frombuffer(payload, "<f4").reshape(data["shape"]), (pcs - mean) @ components.T)

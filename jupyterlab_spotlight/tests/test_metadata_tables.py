"""Metadata tables and per-row embedding vectors in the kernel helper (issue 12, items 1, 2, 5).

Every input form the issue names gets a test: DataFrames (any number of columns, mixed
kinds, missing values of every flavour), dicts of equal-length arrays, structured arrays,
one array / Series / list / tensor; embeddings as a DataFrame column, Series, list of
vectors or tensors (equal, ragged, 2-D rows, a missing row).
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from jupyterlab_spotlight.kernel_helper import Helper

from .test_kernel_helper import fail, fetch, listed, ok


def table(helper, name, **fields):
    """Fetch a metadata table; return ``(values [C, N] float32, begin reply)``."""
    values, begin = fetch(helper, name, "metadata", table=True, **fields)
    assert begin["dtype"] == "float32" and begin["shape"][0] == len(begin["columns"])
    json.dumps(begin, allow_nan=False)  # nothing non-finite in the JSON
    return values.reshape(begin["shape"]), begin


def decoded(values, column):
    """One column back as Python values (None for missing)."""
    out = []
    for v in values.tolist():
        if math.isnan(v):
            out.append(None)
        elif column["kind"] == "categorical":
            out.append(column["categories"][int(v)])
        else:
            out.append(v)
    return out


def mixed_frame():
    """Four columns with None / NaN / pd.NA / NaT, strings, bools and floats."""
    return pd.DataFrame({
        "source": ["scanner A", None, "scanner B", "scanner A", "<b>x</b>"],
        "flag": pd.array([True, False, pd.NA, True, False], dtype="boolean"),
        "width": [1.5, np.nan, 2.5, np.inf, 0.5],
        "when": pd.to_datetime(["2024-01-01 00:00", None, "2024-01-02 00:00", "2024-01-01 12:00", pd.NaT]),
    })


# --------------------------------------------------------------------------- tables

def test_dataframe_with_every_missing_flavour():
    helper = Helper({"meta": mixed_frame()})
    values, begin = table(helper, "meta")
    columns = {c["name"]: c for c in begin["columns"]}
    assert [c["name"] for c in begin["columns"]] == ["source", "flag", "width", "when"]
    assert begin["skipped"] == []
    source = columns["source"]
    assert (source["kind"], source["missing"]) == ("categorical", 1)
    assert decoded(values[0], source) == ["scanner A", None, "scanner B", "scanner A", "<b>x</b>"]
    flag = columns["flag"]
    assert (flag["kind"], flag["categories"], flag["missing"]) == ("categorical", ["False", "True"], 1)
    assert decoded(values[1], flag) == ["True", "False", None, "True", "False"]
    width = columns["width"]
    assert (width["kind"], width["missing"]) == ("continuous", 2)  # NaN and +Inf
    assert decoded(values[2], width) == [1.5, None, 2.5, None, 0.5]
    when = columns["when"]
    assert (when["kind"], when["unit"], when["missing"]) == ("continuous", "seconds", 2)
    assert when["origin"] == "2024-01-01T00:00:00"
    assert decoded(values[3], when) == [0.0, None, 86400.0, 43200.0, None]


def test_one_column_dataframe_of_strings():
    """It used to crash the helper ("could not convert string to float")."""
    helper = Helper({"meta": pd.DataFrame({"city": ["Oslo", "Lima", "Oslo"]})})
    values, begin = table(helper, "meta")
    (city,) = begin["columns"]
    assert (city["kind"], city["categories"], city["missing"]) == ("categorical", ["Lima", "Oslo"], 0)
    assert decoded(values[0], city) == ["Oslo", "Lima", "Oslo"]


def test_wide_dataframe_of_250_columns():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"c%d" % j: rng.standard_normal(300) for j in range(250)})
    helper = Helper({"wide": frame})
    values, begin = table(helper, "wide")
    assert values.shape == (250, 300)
    assert all(c["kind"] == "continuous" for c in begin["columns"])
    np.testing.assert_allclose(values[137], frame["c137"].to_numpy(), rtol=1e-6)
    data, _ = ok(helper, "columns", name="wide")
    assert len(data["columns"]) == 250 and data["n"] == 300


def test_integer_columns_are_categorical_with_few_values_else_continuous():
    frame = pd.DataFrame({
        "digit": np.arange(100) % 10,
        "pixels": np.arange(100) * 7,
        "nullable": pd.array([1, None] * 50, dtype="Int64"),
        "cat": pd.Categorical(["x", "y"] * 50),
        "delay": pd.to_timedelta(np.arange(100), unit="m"),
    })
    helper = Helper({"meta": frame})
    values, begin = table(helper, "meta")
    kinds = {c["name"]: c["kind"] for c in begin["columns"]}
    assert kinds == {"digit": "categorical", "pixels": "continuous", "nullable": "categorical",
                     "cat": "categorical", "delay": "continuous"}
    nullable = begin["columns"][2]
    assert nullable["categories"] == ["1"] and nullable["missing"] == 50
    assert values[4][3] == 180.0  # 3 minutes in seconds


def test_dict_structured_array_and_single_arrays():
    ns = {
        "d": {"group": np.array(["a", "b", "a"]), "score": [0.1, None, 0.3], "t": torch.tensor([1.0, 2.0, 3.0])},
        "rec": np.array([(1, 0.5, b"x"), (2, 1.5, b"y"), (1, 2.5, b"x")],
                        dtype=[("id", "i4"), ("value", "f8"), ("tag", "S1")]),
        "arr": np.array([0.5, 1.5, np.nan]),
        "ser": pd.Series(["u", "v", "u"], name="letter"),
        "lst": ["p", None, "p"],
        "ten": torch.tensor([1, 2, 1]),
        "two": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    }
    helper = Helper(ns)
    values, begin = table(helper, "d")
    assert [(c["name"], c["kind"]) for c in begin["columns"]] == [
        ("group", "categorical"), ("score", "continuous"), ("t", "continuous")]
    assert begin["columns"][0]["path"] == "d['group']"
    assert begin["columns"][1]["missing"] == 1
    values, begin = table(helper, "rec")
    assert [(c["name"], c["kind"]) for c in begin["columns"]] == [
        ("id", "categorical"), ("value", "continuous"), ("tag", "categorical")]
    assert decoded(values[2], begin["columns"][2]) == ["x", "y", "x"]
    values, begin = table(helper, "arr")
    assert begin["columns"][0]["name"] == "arr" and begin["columns"][0]["missing"] == 1
    values, begin = table(helper, "ser")
    assert begin["columns"][0]["name"] == "letter"
    values, begin = table(helper, "lst")
    assert decoded(values[0], begin["columns"][0]) == ["p", None, "p"]
    values, begin = table(helper, "ten")
    assert begin["columns"][0]["kind"] == "categorical"
    values, begin = table(helper, "two")
    assert [c["name"] for c in begin["columns"]] == ["two[:, 0]", "two[:, 1]"]


def test_columns_can_be_chosen_and_unknown_ones_are_named():
    helper = Helper({"meta": mixed_frame()})
    values, begin = table(helper, "meta", columns=["width", "source"])
    assert [c["name"] for c in begin["columns"]] == ["source", "width"]
    message = fail(helper, "fetch-begin", "not-found", name="meta", role="metadata", table=True,
                   columns=["nope"])
    assert "'nope'" in message and "'source'" in message


def test_columns_that_cannot_be_explained_are_skipped_with_a_reason():
    frame = pd.DataFrame({
        "emb": [np.zeros(3), np.ones(3)],
        "z": np.array([1 + 1j, 2j]),
        "ok": ["a", "b"],
    })
    helper = Helper({"meta": frame, "only": pd.DataFrame({"z": np.array([1j, 2j])})})
    _, begin = table(helper, "meta")
    assert [c["name"] for c in begin["columns"]] == ["ok"]
    reasons = {s["name"]: s["reason"] for s in begin["skipped"]}
    assert "embeddings" in reasons["emb"] and "complex" in reasons["z"]
    message = fail(helper, "fetch-begin", "bad-dtype", name="only", role="metadata", table=True)
    assert "'only'" in message and "complex" in message


def test_table_refusals_name_the_variable_and_the_problem():
    ns = {
        "uneven": {"a": [1, 2, 3], "b": [1, 2]},
        "nested": {"a": np.zeros((3, 2))},
        "scalar": 3,
        "empty": pd.DataFrame(),
        "cube": np.zeros((3, 2, 2)),
        "big": np.zeros((1000, 50)),
    }
    helper = Helper(ns)
    message = fail(helper, "columns", "length-mismatch", name="uneven")
    assert "'uneven'" in message and "'b' has 2" in message
    message = fail(helper, "columns", "bad-ndim", name="nested")
    assert "'a'" in message and "(3, 2)" in message
    assert "'scalar'" in fail(helper, "columns", "not-array", name="scalar")
    assert "'empty'" in fail(helper, "columns", "empty", name="empty")
    assert "(3, 2, 2)" in fail(helper, "columns", "bad-ndim", name="cube")
    message = fail(helper, "fetch-begin", "too-large", name="big", role="metadata", table=True,
                   max_bytes=1000)
    assert "'big'" in message


def test_check_validates_metadata_and_examples_before_any_transfer():
    ns = {"emb": np.zeros((5, 2)), "loss": np.zeros(5), "meta": mixed_frame(),
          "short": pd.DataFrame({"a": [1, 2]}), "texts": ["a"] * 4}
    helper = Helper(ns)
    data, _ = ok(helper, "check", embeddings="emb", losses="loss", metadata="meta")
    assert data["metadata"]["n"] == 5 and len(data["metadata"]["columns"]) == 4
    json.dumps(data, allow_nan=False)
    message = fail(helper, "check", "length-mismatch", embeddings="emb", losses="loss", metadata="short")
    assert "metadata 'short' has 2" in message
    message = fail(helper, "check", "length-mismatch", embeddings="emb", losses="loss", examples="texts")
    assert "examples 'texts' has 4" in message
    data, _ = ok(helper, "check", embeddings="emb", losses="loss", metadata="meta",
                 metadata_columns=["width"])
    assert [c["name"] for c in data["metadata"]["columns"]] == ["width"]


def test_list_offers_metadata_for_tables_dicts_records_and_columns_with_kinds():
    ns = {
        "meta": mixed_frame(),
        "d": {"a": [1, 2], "b": np.array([0.5, 1.5])},
        "uneven": {"a": [1, 2], "b": [1]},
        "rec": np.zeros(3, dtype=[("a", "i4"), ("b", "f4")]),
        "frame": pd.DataFrame({"emb": [np.zeros(4), np.ones(4)], "n": [1, 2]}),
    }
    got = listed(ns)
    kinds = {c["name"]: c["kind"] for c in got["meta"]["columns"]}
    assert kinds == {"source": "categorical", "flag": "categorical", "width": "continuous",
                     "when": "continuous"}
    assert got["d"]["roles"] == ["metadata"]
    assert got["uneven"]["roles"] == []
    assert got["rec"]["roles"] == ["metadata"]
    emb = got["frame"]["columns"][0]
    assert emb["kind"] == "vector" and emb["roles"] == ["embeddings"]
    assert got["frame"]["columns"][1]["kind"] == "integer"


# --------------------------------------------------------------------------- vector rows

def test_embeddings_from_a_dataframe_column_series_and_lists_of_vectors():
    rows = [np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0])]
    ns = {
        "df": pd.DataFrame({"emb": rows, "y": [0, 1, 0]}),
        "ser": pd.Series(rows),
        "lists": pd.Series([[1, 2], [3, 4], [5, 6]]),
        "tensors": [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]), torch.tensor([5.0, 6.0])],
        "objarr": np.array([None] * 3, dtype=object),
    }
    for i, row in enumerate(rows):
        ns["objarr"][i] = row
    helper = Helper(ns)
    expected = [[1, 2], [3, 4], [5, 6]]
    for name in ("df['emb']", "ser", "lists", "tensors", "objarr"):
        values, begin = fetch(helper, name, "embeddings")
        assert values.tolist() == expected and begin["shape"] == [3, 2], name
    got = listed(ns)
    assert got["ser"]["shape"] == [3, 2] and got["ser"]["roles"] == ["embeddings"]
    data, _ = ok(helper, "check", embeddings="df['emb']", losses="df['y']")
    assert (data["n"], data["d"]) == (3, 2)


def test_ragged_2d_and_missing_rows_are_refused_naming_the_row():
    ns = {
        "ragged": pd.Series([np.zeros(4), np.zeros(4), np.zeros(3)]),
        "ragged_list": [[1.0, 2.0], [1.0]],
        "square": pd.Series([np.zeros((2, 2)), np.zeros((2, 2))]),
        "hole": pd.Series([np.zeros(2), None, np.zeros(2)]),
        "first_missing": pd.Series([None, np.zeros(2)]),
        "nan_row": pd.Series([np.zeros(2), np.nan]),
        "words": pd.Series([np.array(["a", "b"]), np.array(["c", "d"])]),
        "loss": np.zeros(3),
    }
    helper = Helper(ns)
    message = fail(helper, "fetch-begin", "not-array", name="ragged", role="embeddings")
    assert "'ragged' is ragged: row 0 has 4 values but row 2 has 3" in message
    message = fail(helper, "check", "not-array", embeddings="ragged", losses="loss")
    assert "row 2 has 3" in message  # refused by the check, before any transfer
    message = fail(helper, "fetch-begin", "not-array", name="ragged_list", role="embeddings")
    assert "row 1 has 1" in message
    message = fail(helper, "fetch-begin", "bad-ndim", name="square", role="embeddings")
    assert "row 0 has shape (2, 2)" in message
    message = fail(helper, "fetch-begin", "not-array", name="hole", role="embeddings")
    assert "no vector at row 1" in message
    message = fail(helper, "fetch-begin", "not-array", name="first_missing", role="embeddings")
    assert "no vector at row 0" in message
    message = fail(helper, "fetch-begin", "not-array", name="nan_row", role="embeddings")
    assert "no vector at row 1" in message
    message = fail(helper, "fetch-begin", "non-numeric", name="words", role="embeddings")
    assert "'words'" in message


def test_vector_rows_are_refused_as_metadata():
    helper = Helper({"ser": pd.Series([np.zeros(2), np.ones(2)])})
    message = fail(helper, "columns", "bad-ndim", name="ser")
    assert "embedding" in message


@pytest.mark.parametrize("value", [
    pd.Series([1, 2], dtype="Int64"), pd.Series([pd.NA, pd.NA], dtype="Float64"),
    pd.Series(pd.to_datetime(["2024-01-01", None]).tz_localize("Europe/Oslo")),
    pd.Series([None, None]), pd.Series(["a", 1, 2.5, None]),
    pd.Series([[1], "a"]), np.array([1, 2], dtype=np.uint64), [b"a", b"b"],
    pd.DataFrame({"a": [{"k": 1}, {"k": 2}]}), pd.Series([True, None]),
])
def test_no_input_reaches_an_internal_error(value):
    helper = Helper({"v": value, "emb": np.zeros((2, 2)), "loss": np.zeros(2)})
    for op, fields in (("columns", {"name": "v"}),
                       ("fetch-begin", {"name": "v", "role": "metadata", "table": True}),
                       ("fetch-begin", {"name": "v", "role": "embeddings"}),
                       ("check", {"embeddings": "emb", "losses": "loss", "metadata": "v"})):
        replies = helper.handle({"version": 1, "op": op, "request_id": "x", **fields})
        (data, _), = replies
        assert data["op"] != "error" or data["code"] != "internal", data
        json.dumps(data, allow_nan=False)


# --------------------------------------------------------------------------- words

def test_tokens_of_text_examples():
    texts = ["The refund was late", "late again, refund!", None, "great plot", "the refund",
             "Late late", "x 42 y"]
    helper = Helper({"texts": texts, "ser": pd.Series(texts), "nums": np.zeros(3)})
    data, bufs = ok(helper, "tokens", name="texts")
    assert data["n"] == 7
    assert data["vocabulary"] == ["late", "refund"]  # in >= 3 documents, most frequent first
    indptr = np.frombuffer(bytes(bufs[0]), "<i4")
    indices = np.frombuffer(bytes(bufs[1]), "<i4")
    assert indptr.tolist() == [0, 2, 4, 4, 4, 5, 6, 6]
    assert indices[indptr[1]:indptr[2]].tolist() == [0, 1]
    same, _ = ok(helper, "tokens", name="ser")
    assert same["vocabulary"] == data["vocabulary"]
    message = fail(helper, "tokens", "bad-dtype", name="nums")
    assert "'nums'" in message

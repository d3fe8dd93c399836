"""The command line's .npy reader (`src/cli/npy.ts`, built to lib/node)
against NumPy's own conversion.

NumPy writes one small file per variant (dtype, byte order, C/Fortran order,
2-D embeddings-shaped and 1-D losses-shaped, with negative, large, subnormal,
±0 and rounding-tie values); a Node script reads each with the built
`readNpy` and writes the float32 result back; the test asserts it is
bit-for-bit `arr.astype(np.float32)` (NaN: only that it is NaN). Object,
structured, complex, string and datetime files must be refused with a message
that names the file, the dtype and how to save the array instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "cli" / "npy.ts"
BUILT = ROOT / "lib" / "node" / "cli" / "npy.js"

# Reads every file named in the JSON list argv[2]; for each writes <file>.f32
# (little-endian float32, row-major) and <file>.json ({shape} or {error}).
READER = """
const fs = require('fs');
const { readNpy, NpyError } = require(process.argv[1]);
for (const file of JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))) {
  try {
    const a = readNpy(fs.readFileSync(file), '--losses ' + file);
    const d = a.data;
    fs.writeFileSync(file + '.f32', Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    fs.writeFileSync(file + '.json', JSON.stringify({ shape: a.shape }));
  } catch (e) {
    if (!(e instanceof NpyError)) throw e;
    fs.writeFileSync(file + '.json', JSON.stringify({ error: e.message }));
  }
}
"""


@pytest.fixture(scope="module")
def reader() -> Path:
    """The built reader, built here when missing or older than its source."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not BUILT.exists() or BUILT.stat().st_mtime < SOURCE.stat().st_mtime:
        npx = shutil.which("npx")
        if npx is None:
            pytest.skip("npx is not installed")
        subprocess.run(
            [npx, "tsc", "-p", "tsconfig.cli.json"], cwd=ROOT, check=True, timeout=600
        )
    return BUILT


def read_all(reader: Path, tmp: Path, files: list[Path]) -> list[dict]:
    """Run the built reader on `files`; return per file {shape, data} or {error}."""
    listing = tmp / "files.json"
    listing.write_text(json.dumps([str(f) for f in files]))
    subprocess.run(
        ["node", "-e", READER, str(reader), str(listing)], check=True, timeout=300
    )
    out = []
    for f in files:
        meta = json.loads(Path(f"{f}.json").read_text())
        if "shape" in meta:
            data = np.fromfile(f"{f}.f32", dtype="<f4")
            meta["data"] = data.reshape(meta["shape"])
        out.append(meta)
    return out


def values(dtype: np.dtype, rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` values of `dtype`: edge cases first, then random ones."""
    if dtype.kind == "b":
        return rng.integers(0, 2, count).astype(bool)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        edge = [0.0, -0.0, 1.0, -1.5, float(info.max), -float(info.max)]
        edge += [float(info.tiny), float(info.smallest_subnormal), -float(info.smallest_subnormal)]
        if dtype.itemsize == 2:
            edge += [np.inf, -np.inf, np.nan, 1023 * 2.0**-24, 0.1, -3.14159]
            random = rng.integers(0, 2**16, count, dtype=np.uint16).view(np.float16)
        else:
            if dtype.itemsize == 8:
                # float32's largest, smallest normal and subnormal, ties,
                # and values that flush to ±0 in float32.
                edge = [v for v in edge if abs(v) < 3.4e38 or v == 0]
                edge += [3.4028234e38, -3.4028234e38, 1.17549435e-38, 1.4e-45, 1e-50, -1e-50]
                # Half float32's least subnormal: a tie (to 0), and just above.
                edge += [2.0**-150, -(2.0**-150), 2.0**-150 * (1 + 2.0**-52), 7e-46]
                edge += [1 + 2.0**-24, 1 + 3 * 2.0**-24, 1 + 2.0**-24 + 2.0**-50, 0.1, -1e30]
            edge += [np.inf, -np.inf, np.nan]
            random = rng.normal(0, 1, count) * 10.0 ** rng.integers(-40, 38, count)
        edge_arr = np.array(edge, dtype=dtype)
        return np.concatenate([edge_arr, np.asarray(random).astype(dtype)])[:count]
    info = np.iinfo(dtype)
    edge = [0, 1, info.max, info.max - 1, info.min, info.min + 1]
    if dtype.kind == "i":
        edge += [-1, -128]
    if dtype.itemsize >= 4:
        # Ties and near-ties of float32 rounding: 2^24 + 1, 2^k + 2^(k-24) ± 1.
        edge += [2**24 + 1, 2**24 + 3, 2**25 + 2, 2**31 - 64, 2**31 - 65]
        if dtype.itemsize == 8:
            for k in (53, 54, 60, 62):
                for d in (-1, 0, 1):
                    edge += [2**k + 2 ** (k - 24) + d, 2**k + 3 * 2 ** (k - 24) + d]
            if dtype.kind == "u":
                edge += [2**63, 2**63 + 2**39, 2**63 + 2**39 + 1, 2**64 - 2**39, 2**64 - 2**39 - 1]
            else:
                edge += [-(2**60) - 2**36, -(2**60) - 2**36 - 1, -(2**62) - 3 * 2**38]
    edge_arr = np.array([v for v in edge if info.min <= v <= info.max], dtype=object)
    # Random values at every magnitude, not only near the top.
    bits = rng.integers(1, dtype.itemsize * 8, count)
    random = [int(rng.integers(0, 2**62)) % (2 ** int(b)) for b in bits]
    if dtype.kind == "i":
        random = [r if rng.random() < 0.5 else -r for r in random]
    random = [min(max(r, int(info.min)), int(info.max)) for r in random]
    return np.array(list(edge_arr) + random, dtype=object)[:count].astype(dtype)


DTYPES = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]


def variants(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One array per dtype × byte order × (2-D C, 2-D Fortran, 1-D)."""
    out: dict[str, np.ndarray] = {}
    for code in DTYPES:
        orders = "<>" if np.dtype(code).itemsize > 1 else "|"
        for order in orders:
            dtype = np.dtype(code).newbyteorder(order) if order != "|" else np.dtype(code)
            matrix = values(np.dtype(code), rng, 300).astype(dtype).reshape(20, 15)
            out[f"{code}{order}C2d"] = np.ascontiguousarray(matrix)
            out[f"{code}{order}F2d"] = np.asfortranarray(matrix)
            out[f"{code}{order}1d"] = values(np.dtype(code), rng, 97).astype(dtype)
    # Every float16 bit pattern, both byte orders.
    every = np.arange(2**16, dtype=np.uint16).view(np.float16)
    out["f2<all"] = every.astype("<f2")
    out["f2>all"] = every.astype(">f2")
    # A rank-3 Fortran array and an (N, 1) one.
    out["f8<F3d"] = np.asfortranarray(values(np.dtype("f8"), rng, 60).reshape(3, 4, 5))
    out["i8>F2d1"] = np.asfortranarray(values(np.dtype(">i8"), rng, 30).reshape(30, 1))
    return out


def file_name(name: str) -> str:
    return name.replace("<", "le").replace(">", "be").replace("|", "na") + ".npy"


def test_every_variant_is_astype_float32_bit_for_bit(reader: Path, tmp_path: Path) -> None:
    arrays = variants(np.random.default_rng(0))
    files = []
    for name, arr in arrays.items():
        path = tmp_path / file_name(name)
        np.save(path, arr)
        files.append(path)
    # float64 files holding values beyond float32 are refused: keep them out here.
    results = read_all(reader, tmp_path, files)
    checked = 0
    for (name, arr), result in zip(arrays.items(), results):
        expected = np.ascontiguousarray(arr.astype(np.float32))
        assert "error" not in result, f"{name}: {result.get('error')}"
        got = result["data"]
        assert got.shape == expected.shape, name
        nan = np.isnan(expected)
        assert np.array_equal(np.isnan(got), nan), name
        same = got.view(np.uint32)[~nan] == expected.view(np.uint32)[~nan]
        if not same.all():
            bad = np.flatnonzero(~same)[:5]
            raise AssertionError(
                f"{name}: {(~same).sum()} values differ, e.g. source "
                f"{arr.ravel(order='C')[~nan.ravel()][bad]} → {got[~nan][bad]} "
                f"instead of {expected[~nan][bad]}"
            )
        checked += 1
    assert checked == len(arrays) == 67


def test_refusals_name_the_file_the_dtype_and_the_fix(reader: Path, tmp_path: Path) -> None:
    save = "np.save(path, np.asarray(x, dtype=np.float32))"
    cases = {
        "object": (np.array([1.0, "a", None], dtype=object), "'|O'", save),
        "structured": (
            np.zeros(3, dtype=[("a", "<f4"), ("b", "<i8")]),
            "('a', '<f4')",
            "np.asarray(x['field'], dtype=np.float32)",
        ),
        "complex64": (np.ones(3, dtype=np.complex64), "'<c8'", "np.abs(x).astype(np.float32)"),
        "complex128": (np.ones((2, 2), dtype=">c16"), "'>c16'", "np.abs(x).astype(np.float32)"),
        "unicode": (np.array(["a", "bc"]), "'<U2'", save),
        "bytes": (np.array([b"a", b"bc"]), "'|S2'", save),
        "datetime": (np.array(["2020-01-01"], dtype="M8[D]"), "'<M8[D]'", "astype('int64')"),
        "overflow": (np.array([1.0, 1e39]), "1e+39", "rescale"),
    }
    files = []
    for name, (arr, _, _) in cases.items():
        path = tmp_path / f"{name}.npy"
        np.save(path, arr, allow_pickle=True)
        files.append(path)
    results = read_all(reader, tmp_path, files)
    for (name, (_, dtype, fix)), path, result in zip(cases.items(), files, results):
        message = result.get("error", "")
        assert f"--losses {path}" in message, (name, message)
        assert dtype in message, (name, message)
        assert fix in message, (name, message)

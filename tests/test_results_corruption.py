"""Random corruptions of every result file type, JSON and HDF5: loading either refuses with
exactly one LosslabError of one non-empty line, or (the corruption was harmless) gives a result
that passes its own validation and saves and loads again the same. Never another exception.

The corruptions (drawn by hypothesis, derandomized: the same cases on every run):
    bytes    truncate at a random byte; flip random bytes (both formats)
    JSON     replace any value in the record tree (a field, a list item, an array's dtype,
             shape or data) with another JSON value; delete a key
    HDF5     replace any attribute with another type (number, array, text, JSON of another
             shape, bytes); replace any dataset with another dtype or shape, or with a group;
             delete an attribute or a dataset
The example of each type comes from tests/test_results_codec.py (EXAMPLES), so a new result
type is fuzzed as soon as it has an example there.
"""

from __future__ import annotations

import functools
import itertools
import json
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from result_helpers import assert_same
from test_results_codec import EXAMPLES

from losslab.errors import LosslabError
from losslab.results import load_result, registered
from losslab.results.kinds import check_result

pytestmark = pytest.mark.usefixtures("one_thread")

CASES_PER_TYPE = 20  # per type and test: 16 types x 4 tests x 20 = 1280 corrupted files
FUZZ = settings(
    max_examples=CASES_PER_TYPE,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def original(name: str, suffix: str) -> bytes:
    """The bytes of the example of type `name` saved as `suffix` (built once per type)."""
    with tempfile.TemporaryDirectory() as folder:
        return example(name).save(Path(folder) / f"x{suffix}").read_bytes()


@functools.cache
def example(name: str):
    assert name in registered()
    return EXAMPLES[name]()


def load_outcome(path: Path) -> None:
    """The property: one LosslabError line, or a valid result that round-trips."""
    try:
        loaded = load_result(path)
    except LosslabError as error:
        message = str(error)
        assert message.strip() and "\n" not in message, repr(message)
        return
    check_result(loaded)  # of its kinds, and its __post_init__ ran when it was built
    for suffix in (".json", ".h5"):
        again = load_result(loaded.save(path.with_name(f"again{suffix}")))
        assert_same(loaded, again)


# -- corruptions of bytes (both formats) --------------------------------------------------------


@st.composite
def byte_corruption(draw, data: bytes) -> bytes:
    if draw(st.booleans()):
        return data[: draw(st.integers(0, len(data) - 1))]
    flipped = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        flipped[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    return bytes(flipped)


# -- corruptions of a JSON record ---------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(
        [
            {"dtype": "float64", "shape": [2], "data": [1.0]},
            {"dtype": "complex64", "shape": [1], "data": [1.0]},
            {"dtype": "int8", "shape": [1], "data": [1000]},
            {"dtype": "float64", "shape": [1], "dataset": "params"},
            {"float": "nope"},
            {"result": "trajectory", "losslab_version": "1"},
            "max_steps",
            [[0.0, 1.0], [2.0]],
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def json_paths(value, path=()):
    """Every place in a JSON tree, as a tuple of keys and indices."""
    yield path
    if isinstance(value, dict | list):
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            yield from json_paths(item, (*path, key))


@st.composite
def json_corruption(draw, data: bytes) -> bytes:
    record = json.loads(data)
    path = draw(st.sampled_from(list(json_paths(record))[1:]))
    parent = record
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES)
    return json.dumps(record, allow_nan=True).encode()


# -- corruptions of an HDF5 file ----------------------------------------------------------------

ATTRIBUTE_VALUES = [
    np.int64(12),
    -1,
    1.5,
    np.array([1, 1]),
    np.array([1.0, np.nan]),
    "text",
    "[1, 2]",
    "7",
    '{"a": 1}',
    '{"value_keys": [1, 2]}',
    "[" * 5000,
    np.bytes_(b"\xff\xfe"),
    np.array([b"a", b"b"]),
]


def dataset_values(original: np.ndarray) -> list[np.ndarray]:
    shape = original.shape
    return [
        np.zeros((2, 3)),
        np.zeros(0),
        np.array(np.nan),
        np.array([b"ab", b"cd"]),
        np.array([1 + 2j]),
        np.ones(shape, dtype=bool),
        np.full(shape, np.nan),
        np.full(shape, np.inf),
        np.zeros(shape, dtype=np.int8),
        np.zeros(shape, dtype=np.complex128),
        np.zeros(shape, dtype="S3"),
        np.zeros((*shape, 2)),
        np.zeros(shape[:-1]) if shape else np.zeros(3),
        np.full(shape, 7, dtype=np.int64),
        np.full(shape, -3, dtype=np.int64),
    ]


def h5_places(handle: h5py.File) -> tuple[list[tuple[str, str]], list[str]]:
    """(every (object, attribute name), every dataset or group path) in a file."""
    attributes = [("/", name) for name in handle.attrs]
    nodes = []

    def visit(name, node):
        nodes.append(name)
        attributes.extend((name, a) for a in node.attrs)

    handle.visititems(visit)
    return attributes, nodes


@st.composite
def h5_corruption(draw, path: Path) -> None:
    """Corrupt the HDF5 file at `path` in place."""
    with h5py.File(path, "r+") as handle:
        attributes, nodes = h5_places(handle)
        action = draw(st.sampled_from(["attribute", "dataset", "delete"]))
        if action == "attribute" or not nodes:
            owner, name = draw(st.sampled_from(attributes))
            handle[owner].attrs[name] = draw(st.sampled_from(ATTRIBUTE_VALUES))
            return
        node = draw(st.sampled_from(nodes))
        if action == "delete":
            if draw(st.booleans()) and attributes:
                owner, name = draw(st.sampled_from(attributes))
                del handle[owner].attrs[name]
            else:
                del handle[node]
            return
        original = handle[node][()] if isinstance(handle[node], h5py.Dataset) else np.zeros(3)
        del handle[node]
        if draw(st.integers(0, 9)) == 0:
            handle.create_group(node)
        else:
            handle[node] = draw(st.sampled_from(dataset_values(np.asarray(original))))


# -- the properties -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A fresh folder per drawn case (hypothesis reruns a test body in one pytest test)."""
    root = tmp_path_factory.mktemp("corrupted")
    counter = itertools.count()

    def folder() -> Path:
        path = root / str(next(counter))
        path.mkdir()
        return path

    return folder


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("suffix", [".json", ".h5"])
@FUZZ
@given(data=st.data())
def test_corrupted_bytes_are_refused_in_one_line_or_harmless(work, name, suffix, data):
    path = work() / f"x{suffix}"
    path.write_bytes(data.draw(byte_corruption(original(name, suffix))))
    load_outcome(path)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@FUZZ
@given(data=st.data())
def test_a_corrupted_json_record_is_refused_in_one_line_or_harmless(work, name, data):
    path = work() / "x.json"
    path.write_bytes(data.draw(json_corruption(original(name, ".json"))))
    load_outcome(path)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@FUZZ
@given(data=st.data())
def test_a_corrupted_h5_file_is_refused_in_one_line_or_harmless(work, name, data):
    path = work() / "x.h5"
    path.write_bytes(original(name, ".h5"))
    data.draw(h5_corruption(path))
    load_outcome(path)

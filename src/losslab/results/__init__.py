"""Results: frozen dataclasses of tensors/arrays plus metadata, and the one codec that saves
and loads every one of them.

    class Spectrum(Result):            subclassing `Result` with a `result_type` name
        result_type = "spectrum"       registers the type (base.py, registry.py)
    spectrum.save("s.json")            JSON or HDF5 by the suffix, one atomic write (codec.py)
    load_result("s.json")              any result file, type read from the file

Layout of this package (bottom layer: it imports torch, numpy, h5py and losslab.io/errors,
never a module that defines a result; those register themselves when imported):

    registry.py   type name <-> class
    kinds.py      what a file may hold: field kinds read from each type's annotations, a
                  dtype whitelist, shapes; every reader checks a record whole before building
    encoding.py   field values <-> plain JSON (tensors inline, or as HDF5 dataset references)
    h5.py         HDF5 header, atomic HDF5 writer, generic HDF5 layout
    codec.py      save_result / load_result: suffix and content dispatch, size rule, errors
    base.py       the Result mixin: hooks with defaults, save/load/to_dict/from_dict

Every file records its type name, the type's format version, the losslab version and, where
the type has one, its spec. A file of a newer format than this losslab reads is refused with
one line; so is a missing, foreign or damaged file, and one whose fields are not of their
kinds ("'x.json': field 'params' must be an array of floats, got a number."). JSON holds
at most JSON_MAX_VALUES array numbers (a million); above that `save` refuses and names the
.h5 path to use instead.

A new result type (symmetry, connectivity, ...): a frozen dataclass in its own module that
subclasses Result with a new `result_type`; make sure `import losslab` imports that module;
add an example of it to tests/test_results_codec.py (a test fails for a type without one).
"""

from losslab.results.base import Result
from losslab.results.codec import (
    H5_SUFFIXES,
    JSON_MAX_VALUES,
    JSON_SUFFIXES,
    ResultFileError,
    load_result,
    save_result,
    to_json,
)
from losslab.results.encoding import decode, encode
from losslab.results.registry import registered

__all__ = [
    "H5_SUFFIXES",
    "JSON_MAX_VALUES",
    "JSON_SUFFIXES",
    "Result",
    "ResultFileError",
    "decode",
    "encode",
    "load_result",
    "registered",
    "save_result",
    "to_json",
]

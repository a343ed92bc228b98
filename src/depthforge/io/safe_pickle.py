"""Read pickled release files without executing arbitrary code.

A pickle names the functions and classes it calls to rebuild its objects; :class:`SafeUnpickler`
resolves only the names it is given (anything else is a :class:`~depthforge.errors.DataError`),
so a file can at worst build numpy arrays, never run code of its choosing.

:func:`load_npy_dict` reads the ``.npy`` files that hold a pickled ``dict`` in a 0-d object array
(``np.save(path, {...})``, e.g. FCRN's ``NYU_ResNet-UpProj.npy`` written by Python 2), which
``np.load(..., allow_pickle=True)`` would read by executing the pickle.
"""

from __future__ import annotations

import codecs
import io
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from depthforge.errors import DataError

MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")  # numpy 1 / numpy 2 names
NUMPY_GLOBALS: dict[tuple[str, str], Any] = {
    **{(m, "_reconstruct"): np.ndarray((0,)).__reduce__()[0] for m in MULTIARRAY},
    **{(m, "scalar"): np.float32(0).__reduce__()[0] for m in MULTIARRAY},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes at pickle protocol 2
}
"""What a pickle of numpy arrays (and dicts/lists of them) needs, from numpy 1 or 2, Python 2 or 3."""
HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the ``(module, name)`` pairs of ``allowed``.

    Args:
        file: a binary file object positioned at the pickle.
        allowed: ``(module, name)`` → the object to use for it (a stand-in class may be given).
        source: the file named in errors.
        encoding: how Python 2 ``str`` objects are decoded (``"latin1"`` keeps numpy buffers).
    """

    def __init__(
        self,
        file: Any,
        allowed: Mapping[tuple[str, str], Any],
        source: str | Path,
        encoding: str = "latin1",
    ):
        super().__init__(file, encoding=encoding)
        self.allowed = allowed
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise DataError(
                self.source, f"refusing to unpickle {module}.{name} (not a plain numpy array)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(self.source, "refusing to unpickle a persistent reference")


def load_npy_dict(path: str | Path) -> dict:
    """The ``dict`` stored in the 0-d object array of an ``.npy`` file, read safely.

    Raises:
        DataError: not an ``.npy`` file, not a pickled 0-d object array holding a dict, or a
            pickle that names anything beyond numpy arrays.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version not in HEADER_READERS:
                raise DataError(path, f"unsupported .npy format version {version}")
            shape, _, dtype = HEADER_READERS[version](f)
            if dtype != np.dtype(object):
                raise DataError(path, f"expected a pickled object array, found dtype {dtype}")
            array = SafeUnpickler(io.BytesIO(f.read()), NUMPY_GLOBALS, path).load()
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc})") from exc
    except (ValueError, pickle.UnpicklingError, EOFError, TypeError, AttributeError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(path, f"not a readable .npy pickle ({exc})") from exc
    if not isinstance(array, np.ndarray) or array.shape != () or shape != ():
        raise DataError(path, "expected a 0-d object array holding a dict")
    value = array.item()
    if not isinstance(value, dict):
        raise DataError(path, f"expected a dict inside the array, found {type(value).__name__}")
    return value

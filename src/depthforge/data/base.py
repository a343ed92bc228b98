"""The dataset interface every reader implements."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

from torch.utils.data import Dataset

from depthforge.errors import check_name
from depthforge.types import Sample

SAMPLE_FIELDS = tuple(f.name for f in dataclasses.fields(Sample) if f.name != "meta")
"""Names :meth:`DepthDataset.with_fields` accepts: the :class:`Sample` attributes but ``meta``."""


class DepthDataset(Dataset):
    """A map-style dataset of :class:`~depthforge.types.Sample` records.

    Subclasses set ``name`` and ``ids`` (sample ids in split order) in ``__init__`` and implement
    ``load(index)``. Readers open files lazily in ``load`` so that construction is cheap and a
    ``DataLoader`` with workers never pickles open file handles.
    """

    name: str = ""
    ids: Sequence[str] = ()
    fields: frozenset[str] | None = None
    """The sample fields asked for with :meth:`with_fields`; ``None`` = everything."""

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{self.name}: index {index} out of range for {len(self)} samples")
        return self.load(index % len(self))

    def load(self, index: int) -> Sample:  # pragma: no cover - abstract
        raise NotImplementedError

    def with_fields(self, *names: str) -> DepthDataset:
        """A copy of this dataset whose samples need only the fields ``names``.

        A reader that supports it (``folder``, ``nyu``) skips reading and decoding the other
        files: a sample then carries ``None`` for each optional field not asked for, and an
        empty ``(3, 0, 0)`` image when ``"image"`` is not asked for. ``depth``, ``mask`` and
        ``meta`` are always there. Other readers return whole samples.

        Args:
            names: names from :data:`SAMPLE_FIELDS`, e.g. ``("depth",)`` for evaluation.

        Raises:
            UnknownNameError: a name that is not a sample field.
        """
        for field in names:
            check_name("sample field", field, SAMPLE_FIELDS)
        clone = copy.copy(self)
        clone.fields = frozenset(names) | {"depth", "mask"}
        return clone

    def wants(self, field: str) -> bool:
        """Whether samples must carry ``field`` (see :meth:`with_fields`)."""
        return self.fields is None or field in self.fields

    def index_of(self, sample_id: str) -> int:
        """Position of ``sample_id`` in ``ids``; KeyError when absent."""
        try:
            return list(self.ids).index(sample_id)
        except ValueError:
            raise KeyError(f"{self.name}: no sample with id {sample_id!r}") from None

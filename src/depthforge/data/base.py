"""The dataset interface every reader implements."""

from __future__ import annotations

from collections.abc import Sequence

from torch.utils.data import Dataset

from depthforge.types import Sample


class DepthDataset(Dataset):
    """A map-style dataset of :class:`~depthforge.types.Sample` records.

    Subclasses set ``name`` and ``ids`` (sample ids in split order) in ``__init__`` and implement
    ``load(index)``. Readers open files lazily in ``load`` so that construction is cheap and a
    ``DataLoader`` with workers never pickles open file handles.
    """

    name: str = ""
    ids: Sequence[str] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{self.name}: index {index} out of range for {len(self)} samples")
        return self.load(index % len(self))

    def load(self, index: int) -> Sample:  # pragma: no cover - abstract
        raise NotImplementedError

    def index_of(self, sample_id: str) -> int:
        """Position of ``sample_id`` in ``ids``; KeyError when absent."""
        try:
            return list(self.ids).index(sample_id)
        except ValueError:
            raise KeyError(f"{self.name}: no sample with id {sample_id!r}") from None

"""Depth in the Wild (Chen et al., NIPS 2016) and the NYU relative-depth CSVs: ordinal pairs.

DIW CSV (Chen et al.'s ``DataLoader_DIW.lua::parse_DIW_csv``), no header, two lines per pair::

    ./DIW_test/<name>.thumb
    y_A,x_A,y_B,x_B,ord,W,H

Coordinates are row first and 1-based in the pixels of the original ``W`` × ``H`` image; ``ord``
``>`` means A is farther than B (relation +1), ``<`` means A is nearer (−1), ``=`` equal (0; never
in the DIW test set). Only the first character of ``ord`` is read, as the Lua loader does.

NYU relative-depth CSV (``test_model_on_NYU.lua::_read_data_handle``): a header line, then per image
a line ``filename,?,n_point`` followed by ``n_point`` lines ``y_A,x_A,y_B,x_B,ord``. The lines carry
no image size; 1-based coordinates are assumed as in the DIW file (the Lua code indexes tensors
with them directly).

In memory every reader and writer here uses 0-based ``(y_a, x_a, y_b, x_b)`` int64 pairs, the
convention of :class:`~depthforge.types.Sample`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.image import read_rgb, write_atomic
from depthforge.types import Sample, sample_from_numpy

ORD_TO_RELATION = {">": 1, "<": -1, "=": 0}
RELATION_TO_ORD = {v: k for k, v in ORD_TO_RELATION.items()}
DIW_CSV_NAMES = {"test": "DIW_test.csv", "train_val": "DIW_train_val.csv"}
FOLDER_CSV_NAME = "relative_depth.csv"  # the depthforge folder format's ordinal annotations
NYU_IMAGE_SIZE = (640, 480)  # (W, H) of NYU Depth v2 frames, the NYU CSV's implied image size


class RelativeDepthRecord(NamedTuple):
    """The ordinal annotations of one image.

    Attributes:
        image_path: the image path as written in the CSV.
        pairs: ``(N, 4)`` int64 0-based ``y_a, x_a, y_b, x_b`` in pixels of the ``width`` ×
            ``height`` image.
        relations: ``(N,)`` int64 in {−1, 0, +1}; +1 means A is farther than B.
        width: the image width the coordinates refer to, pixels.
        height: the image height the coordinates refer to, pixels.
    """

    image_path: str
    pairs: np.ndarray
    relations: np.ndarray
    width: int
    height: int


def _fields(line: str) -> list[str]:
    return [f.strip() for f in next(csv.reader([line]))] if line.strip() else []


def _parse_relation(token: str, path: Path, line_no: int) -> int:
    rel = ORD_TO_RELATION.get(token[:1])
    if rel is None:
        raise DataError(path, f"line {line_no}: ord must be '>', '<' or '=', got {token!r}")
    return rel


def _parse_pair(
    fields: Sequence[str], path: Path, line_no: int, width: int, height: int
) -> tuple[list[int], int]:
    """0-based ``[y_a, x_a, y_b, x_b]`` and the relation from 1-based CSV fields."""
    try:
        values = [float(f) for f in fields[:4]]
    except ValueError:
        values = []
    if len(values) != 4 or not all(v.is_integer() for v in values):
        raise DataError(
            path, f"line {line_no}: coordinates must be whole numbers, got {', '.join(fields[:4])}"
        )
    coords = [int(v) for v in values]
    ys, xs = coords[0::2], coords[1::2]
    if not all(1 <= y <= height for y in ys) or not all(1 <= x <= width for x in xs):
        raise DataError(
            path,
            f"line {line_no}: point outside the {width}×{height} image "
            f"(1-based y_A, x_A, y_B, x_B = {coords})",
        )
    return [c - 1 for c in coords], _parse_relation(fields[4], path, line_no)


def _group(
    rows: Iterable[tuple[str, list[int], int, int, int]],
) -> list[RelativeDepthRecord]:
    """Merge consecutive rows ``(image, pair, relation, W, H)`` of the same image into records."""
    records: list[RelativeDepthRecord] = []
    current: tuple[str, int, int] | None = None
    pairs: list[list[int]] = []
    relations: list[int] = []

    def flush() -> None:
        if current is not None:
            records.append(
                RelativeDepthRecord(
                    current[0],
                    np.asarray(pairs, dtype=np.int64).reshape(-1, 4),
                    np.asarray(relations, dtype=np.int64),
                    current[1],
                    current[2],
                )
            )

    for image, pair, rel, w, h in rows:
        if current != (image, w, h):
            flush()
            current, pairs, relations = (image, w, h), [], []
        pairs.append(pair)
        relations.append(rel)
    flush()
    return records


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        return path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable text CSV ({exc})") from exc


def read_diw_csv(path: str | Path) -> list[RelativeDepthRecord]:
    """Read a DIW-format CSV (two lines per pair) into per-image records.

    Consecutive pairs of the same image (same path and size) form one record.

    For example the two lines ``img.jpg`` and ``3,1,5,2,>,4,6`` give one record with pairs
    ``[[2, 0, 4, 1]]`` (0-based), relations ``[1]``, width 4 and height 6.

    Raises:
        DataError: naming the file and the 1-based line number of a malformed line.
    """
    path = Path(path)
    lines = [(n, line) for n, line in enumerate(_read_lines(path), start=1) if line.strip()]
    if len(lines) % 2:
        raise DataError(path, f"line {lines[-1][0]}: image line without its coordinate line")
    rows = []
    for (_, image_line), (n, coord_line) in zip(lines[0::2], lines[1::2], strict=True):
        fields = _fields(coord_line)
        if len(fields) != 7:
            raise DataError(
                path, f"line {n}: expected 'y_A,x_A,y_B,x_B,ord,W,H', got {coord_line.strip()!r}"
            )
        try:
            w, h = int(float(fields[5])), int(float(fields[6]))
        except ValueError:
            raise DataError(path, f"line {n}: W and H must be numbers") from None
        if w < 1 or h < 1:
            raise DataError(path, f"line {n}: image size must be positive, got {w}×{h}")
        pair, rel = _parse_pair(fields, path, n, w, h)
        rows.append((_fields(image_line)[0], pair, rel, w, h))
    return _group(rows)


def read_nyu_relative_csv(
    path: str | Path, width: int = NYU_IMAGE_SIZE[0], height: int = NYU_IMAGE_SIZE[1]
) -> list[RelativeDepthRecord]:
    """Read Chen et al.'s NYU relative-depth CSV (header; ``filename,?,n_point`` + n_point lines).

    Args:
        width, height: the image size the coordinates refer to (the file does not say; NYU
            frames are 640 × 480).

    Raises:
        DataError: naming the file and the 1-based line number of a malformed line.
    """
    path = Path(path)
    lines = [(n, line) for n, line in enumerate(_read_lines(path), start=1) if line.strip()]
    rows = []
    k = 1  # lines[0] is the header
    while k < len(lines):
        n, head = lines[k]
        fields = _fields(head)
        try:
            n_point = int(fields[2])
        except (IndexError, ValueError):
            raise DataError(
                path, f"line {n}: expected 'filename,?,n_point', got {head.strip()!r}"
            ) from None
        if n_point < 0 or k + n_point >= len(lines):
            raise DataError(path, f"line {n}: announces {n_point} pairs but the file ends first")
        for m, coord_line in lines[k + 1 : k + 1 + n_point]:
            coords = _fields(coord_line)
            if len(coords) != 5:
                raise DataError(
                    path, f"line {m}: expected 'y_A,x_A,y_B,x_B,ord', got {coord_line.strip()!r}"
                )
            pair, rel = _parse_pair(coords, path, m, width, height)
            rows.append((fields[0], pair, rel, width, height))
        k += 1 + n_point
    return _group(rows)


def write_diw_csv(path: str | Path, records: Iterable[Sequence]) -> Path:
    """Write ordinal annotations as a DIW CSV (two lines per pair), atomically.

    Args:
        path: the CSV to write.
        records: ``(image_path, pairs, relations, width, height)`` tuples (e.g.
            :class:`RelativeDepthRecord`): ``pairs`` ``(N, 4)`` 0-based ``y_a, x_a, y_b, x_b``,
            ``relations`` ``(N,)`` in {−1, 0, +1} (0 is written as ``=``).

    Returns:
        ``path``. :func:`read_diw_csv` reads the file back to the same records.

    Raises:
        ValueError: a pair outside its image, a relation outside {−1, 0, +1}, bad shapes.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for index, (image_path, pairs, relations, width, height) in enumerate(records):
        p = np.asarray(pairs)
        r = np.asarray(relations)
        if p.ndim != 2 or p.shape[1] != 4 or r.shape != (p.shape[0],):
            raise ValueError(
                f"record {index}: pairs must be (N, 4) and relations (N,), "
                f"got {p.shape} and {r.shape}"
            )
        if not np.all(p == np.round(p)):
            raise ValueError(f"record {index}: pair coordinates must be integers")
        p = p.astype(np.int64)
        inside = (p[:, 0::2] >= 0) & (p[:, 0::2] < height) & (p[:, 1::2] >= 0)
        inside &= p[:, 1::2] < width
        if not inside.all():
            raise ValueError(f"record {index}: pairs outside the {width}×{height} image")
        bad = set(r.tolist()) - set(RELATION_TO_ORD)
        if bad:
            raise ValueError(f"record {index}: relations must be -1, 0 or +1, got {sorted(bad)}")
        for (ya, xa, yb, xb), rel in zip(p.tolist(), r.tolist(), strict=True):
            writer.writerow([image_path])
            writer.writerow(
                [ya + 1, xa + 1, yb + 1, xb + 1, RELATION_TO_ORD[rel], int(width), int(height)]
            )
    text = buffer.getvalue()
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def rescale_pairs(
    pairs: np.ndarray, src_hw: tuple[int, int], dst_hw: tuple[int, int]
) -> np.ndarray:
    """Map 0-based pairs from a ``src_hw`` image to a ``dst_hw`` one as DIW's loader does.

    ``DataLoader_DIW.lua`` rescales 1-based ``y`` to ``floor(y · H_dst / H_src)`` clamped to
    ``[1, H_dst]`` (x likewise); this is that rule, in 0-based coordinates.
    """
    scale = np.array([dst_hw[0] / src_hw[0], dst_hw[1] / src_hw[1]] * 2)
    limit = np.array([dst_hw[0], dst_hw[1]] * 2)
    one_based = np.clip(np.floor((pairs + 1) * scale), 1, limit)
    return one_based.astype(np.int64) - 1


class DIW(DepthDataset):
    """Depth in the Wild (or any DIW-format CSV): images with ordinal pairs and no dense depth.

    Layout: ``ROOT/DIW_test.csv``, ``ROOT/DIW_train_val.csv`` and the images at the CSV's paths
    relative to ``ROOT`` (e.g. ``ROOT/DIW_test/<name>.thumb``).

    Image paths: a leading ``./`` is dropped. The release's test images carry a ``.thumb`` suffix
    (JPEG data, which Pillow reads whatever the suffix). The exact substitution done by the
    release's ``test_model_on_DIW.lua`` was not verified here, so the path is tried as written
    first, then with ``.thumb`` removed, then with ``.thumb`` replaced by ``.jpg`` / ``.png``.

    When the image on disk is not the ``W`` × ``H`` size the CSV gives, the pairs are rescaled to
    the image with :func:`rescale_pairs` (``meta["csv_size"]`` keeps the CSV's ``(W, H)``).

    Args:
        root: the folder holding the CSV(s) and the images.
        split: ``"test"`` (``DIW_test.csv``), ``"train_val"`` (``DIW_train_val.csv``) or ``None``:
            the one CSV found among those names and ``relative_depth.csv``.
        csv: a CSV path that overrides ``split`` (relative paths are relative to ``root``).
        format: ``"diw"`` (two lines per pair) or ``"nyu"`` (Chen et al.'s NYU relative CSV).

    ``load(i)`` gives a :class:`~depthforge.types.Sample` with ``pairs`` / ``relations`` for the
    image, an all-zero ``depth`` with an all-False ``mask`` and ``K = None``.
    """

    name = "diw"

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        csv: str | Path | None = None,
        format: str = "diw",
    ):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "DIW root folder not found")
        self.csv_path = self._resolve_csv(split, csv)
        readers = {"diw": read_diw_csv, "nyu": read_nyu_relative_csv}
        if format not in readers:
            raise ValueError(f"format must be 'diw' or 'nyu', got {format!r}")
        self.records = readers[format](self.csv_path)
        if not self.records:
            raise DataError(self.csv_path, "no samples found")
        ids: list[str] = []
        seen: set[str] = set()
        for k, rec in enumerate(self.records):
            sid = rec.image_path.removeprefix("./")
            ids.append(sid if sid not in seen else f"{sid}@{k}")
            seen.add(sid)
        self.ids = ids

    def _resolve_csv(self, split: str | None, csv: str | Path | None) -> Path:
        if csv is not None:
            path = Path(csv) if Path(csv).is_absolute() else self.root / csv
            if not path.is_file():
                raise DataError(path, "CSV file not found")
            return path
        if split is not None:
            if split not in DIW_CSV_NAMES:
                raise DataError(
                    self.root, f"unknown DIW split {split!r}; known: {', '.join(DIW_CSV_NAMES)}"
                )
            path = self.root / DIW_CSV_NAMES[split]
            if not path.is_file():
                raise DataError(path, f"split {split!r} needs this CSV, which is missing")
            return path
        found = [
            self.root / n
            for n in (*DIW_CSV_NAMES.values(), FOLDER_CSV_NAME)
            if (self.root / n).is_file()
        ]
        if len(found) != 1:
            problem = "several CSVs found" if found else "no DIW CSV found"
            raise DataError(self.root, f"{problem}; pass split='test'|'train_val' or csv=PATH")
        return found[0]

    def image_path(self, index: int) -> Path:
        """The image file of sample ``index`` (see the class docstring for the ``.thumb`` rule)."""
        written = self.records[index].image_path.removeprefix("./")
        candidates = [self.root / written]
        if written.endswith(".thumb"):
            stem = written.removesuffix(".thumb")
            candidates += [self.root / f"{stem}{s}" for s in ("", ".jpg", ".png")]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise DataError(candidates[0], f"image of sample {self.ids[index]!r} not found")

    def load(self, index: int) -> Sample:
        rec = self.records[index]
        path = self.image_path(index)
        image = read_rgb(path)
        h, w = image.shape[:2]
        pairs = rec.pairs
        if (h, w) != (rec.height, rec.width):
            pairs = rescale_pairs(pairs, (rec.height, rec.width), (h, w))
        meta = {
            "dataset": self.name,
            "id": self.ids[index],
            "image_path": str(path),
            "csv_path": str(self.csv_path),
            "csv_size": (rec.width, rec.height),
            "depth_kind": "ordinal",
        }
        return sample_from_numpy(
            image,
            np.zeros((h, w), np.float32),
            None,
            pairs=pairs.astype(np.int64),
            relations=rec.relations.astype(np.int64),
            meta=meta,
        )

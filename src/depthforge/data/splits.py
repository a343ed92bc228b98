"""KITTI split files: the monodepth2 ``*_files.txt`` lists and BTS's ``*_files_with_gt.txt``.

monodepth2 (``splits/eigen/test_files.txt``)::

    2011_09_26/2011_09_26_drive_0002_sync 0000000069 l      (frame zero-padded or plain; l | r)

BTS (``train_test_inputs/eigen_test_files_with_gt.txt``)::

    2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.png <gt path | None> 721.5377

Both parse to :class:`KittiSplitEntry` rows whose :attr:`~KittiSplitEntry.id` is the canonical
``<date>/<drive> <10-digit frame> <l|r>`` line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from depthforge.errors import DataError

SIDE_TO_CAM = {"l": 2, "r": 3}
CAM_TO_SIDE = {v: k for k, v in SIDE_TO_CAM.items()}
_BTS_RGB = re.compile(r"^(?P<folder>[^/]+/[^/]+)/image_0(?P<cam>[23])/data/(?P<frame>\d+)\.\w+$")


@dataclass(frozen=True)
class KittiSplitEntry:
    """One frame of a KITTI split.

    Attributes:
        folder: ``<date>/<drive>`` (e.g. ``2011_09_26/2011_09_26_drive_0002_sync``).
        frame: frame index.
        side: ``"l"`` (image_02) or ``"r"`` (image_03).
        gt_path: BTS only: the annotated-GT path as written (relative to the GT root), ``None``
            where the file says ``None`` or the format has no such column.
        focal: BTS only: the focal length column, pixels.
        has_gt_column: True for BTS rows (where ``gt_path is None`` means "no annotated GT").
    """

    folder: str
    frame: int
    side: str
    gt_path: str | None = None
    focal: float | None = None
    has_gt_column: bool = False

    @property
    def id(self) -> str:
        """Canonical monodepth2 line ``<date>/<drive> <frame:010d> <side>``."""
        return f"{self.folder} {self.frame:010d} {self.side}"

    @property
    def cam(self) -> int:
        """KITTI camera index: 2 for ``l``, 3 for ``r``."""
        return SIDE_TO_CAM[self.side]

    @property
    def date(self) -> str:
        return self.folder.split("/")[0]

    @property
    def drive(self) -> str:
        return self.folder.split("/")[-1]


def _parse_line(fields: list[str], path: Path, line_no: int) -> KittiSplitEntry:
    if len(fields) == 3 and fields[2] in SIDE_TO_CAM and fields[1].isdigit():
        return KittiSplitEntry(fields[0].rstrip("/"), int(fields[1]), fields[2])
    match = _BTS_RGB.match(fields[0]) if len(fields) == 3 else None
    if match is not None:
        try:
            focal = float(fields[2])
        except ValueError:
            raise DataError(path, f"line {line_no}: focal {fields[2]!r} is not a number") from None
        return KittiSplitEntry(
            match["folder"],
            int(match["frame"]),
            CAM_TO_SIDE[int(match["cam"])],
            gt_path=None if fields[1] == "None" else fields[1],
            focal=focal,
            has_gt_column=True,
        )
    raise DataError(
        path,
        f"line {line_no}: expected '<date>/<drive> <frame> <l|r>' (monodepth2) or "
        f"'<date>/<drive>/image_0X/data/<frame>.png <gt|None> <focal>' (BTS), "
        f"got {' '.join(fields)!r}",
    )


def read_kitti_split(path: str | Path) -> list[KittiSplitEntry]:
    """Parse a monodepth2 or BTS KITTI split file (the format is recognised per line).

    Raises:
        DataError: missing file, or a line in neither format (naming the 1-based line number).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "split file not found")
    entries = [
        _parse_line(line.split(), path, n)
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if line.strip()
    ]
    if not entries:
        raise DataError(path, "split file is empty")
    return entries

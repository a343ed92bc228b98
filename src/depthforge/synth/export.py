"""Write the synthetic world to disk in the depthforge folder format (``depthforge synth --out OUT``).

Layout written (see :mod:`depthforge.data.folder`)::

    OUT/depthforge.json          depth_format "png16", depth_scale, K, baseline (stereo), the
                                 generator settings ("synth") and the label table ("labels")
    OUT/images/scene_SSS/FFFFFF.png      uint8 RGB
    OUT/depth/scene_SSS/FFFFFF.png       16-bit, depth_m · depth_scale (1000 indoor, 256 outdoor)
    OUT/poses/…txt  OUT/normals/…npy  OUT/labels/…png  OUT/right/…png (stereo)
    OUT/splits/train.txt, val.txt        the last scene is "val" when there are ≥ 2 scenes
    OUT/relative_depth.csv               ordinal pairs, DIW CSV format

Sequences are sub-folders, so ``FolderDataset(OUT, neighbour_offsets=(-1, 1))`` finds neighbours.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from depthforge.data.diw import write_diw_csv
from depthforge.data.folder import write_folder_meta, write_folder_sample, write_split
from depthforge.synth.dataset import DEFAULT_SIZE, SynthDataset
from depthforge.synth.scene import Label

DEPTH_SCALE = {"indoor": 1000.0, "outdoor": 256.0}
"""PNG value per metre: millimetres indoor (max 65.5 m), KITTI's 1/256 m outdoor (max 256 m)."""
RELATIVE_DEPTH_CSV = "relative_depth.csv"


def write_synth_folder(
    out_dir: str | Path,
    *,
    scenes: int = 4,
    size: tuple[int, int] = DEFAULT_SIZE,
    frames: int = 10,
    stereo: bool = False,
    seed: int = 0,
    kind: str = "indoor",
    fov: float | None = None,
    holes: bool = False,
    pairs: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render ``scenes`` × ``frames`` frames of :class:`SynthDataset` into ``out_dir``.

    Args:
        out_dir: the folder to create or fill (existing files of the same ids are replaced).
        scenes, size, frames, stereo, seed, kind, fov, holes, pairs: as in :class:`SynthDataset`
            (``size`` is ``(width, height)``).
        progress: called as ``progress(done, total)`` after each frame.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.
    """
    root = Path(out_dir)
    data = SynthDataset(
        scenes=scenes,
        size=size,
        frames=frames,
        stereo=stereo,
        seed=seed,
        kind=kind,
        fov=fov,
        holes=holes,
        pairs=pairs,
    )
    scale = DEPTH_SCALE[kind]
    # Ordinal pairs of all frames in arrays allocated once, before the first frame: a small
    # array kept per frame would be allocated among the frame's large temporaries and pin the
    # heap, so that memory grew by about one float32 image per frame (benchmarks/synth_memory.py).
    all_pairs = np.zeros((len(data), pairs, 4), dtype=np.int64)
    all_relations = np.zeros((len(data), pairs), dtype=np.int64)
    pair_counts = np.zeros(len(data), dtype=np.int64)
    for index, sample_id in enumerate(data.ids):
        sample = data[index]
        right = None
        if sample.stereo is not None:
            right = _to_uint8(sample.stereo.image.permute(1, 2, 0).numpy())
        write_folder_sample(
            root,
            sample_id,
            _to_uint8(sample.image.permute(1, 2, 0).numpy()),
            sample.depth[0].numpy(),
            pose=data.pose(*divmod(index, frames)),  # float64, not the Sample's float32
            normals=sample.normals.numpy(),
            labels=sample.labels.numpy(),
            right=right,
            depth_format="png16",
            depth_scale=scale,
        )
        if sample.pairs is not None:
            count = pair_counts[index] = len(sample.pairs)
            all_pairs[index, :count] = sample.pairs.numpy()
            all_relations[index, :count] = sample.relations.numpy()
        del sample
        if progress is not None:
            progress(index + 1, len(data))
    meta = {
        "depth_format": "png16",
        "depth_scale": scale,
        "K": data.K.tolist(),
        "synth": {
            "kind": kind,
            "seed": seed,
            "scenes": scenes,
            "frames": frames,
            "fov": data.fov,
            "holes": holes,
        },
        "labels": {int(label): label.name.lower() for label in Label},
    }
    if stereo:
        meta["baseline"] = data.baseline
    write_folder_meta(root, **meta)
    last = f"scene_{scenes - 1:03d}/"
    val = [i for i in data.ids if scenes >= 2 and i.startswith(last)]
    write_split(root, "train", [i for i in data.ids if i not in val])
    if val:
        write_split(root, "val", val)
    records = [
        (f"images/{i}.png", all_pairs[k, :n], all_relations[k, :n], data.width, data.height)
        for k, (i, n) in enumerate(zip(data.ids, pair_counts, strict=True))
        if n
    ]
    if records:
        write_diw_csv(root / RELATIVE_DEPTH_CSV, records)
    return root


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1] → uint8 (rounded)."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)

"""A project folder: its settings, its copy of the images, its session secret and (by default)
its SQLite database.

Layout::

    PROJECT_DIR/
      annotate.json      {"name", "sampler", "k", "pairs_per_image", "gold_rate", "seed"}
      images/<name>      the images to annotate (copied at init; the only files served)
      secret_key         the key signing session cookies (owner-only permissions)
      annotate.sqlite    the database (unless --db names another)
      exports/           exports made from the admin page

``--images FOLDER`` is a folder of images, or a depthforge folder-format root (``images/`` and,
optionally, ``depth/``): with depth, gold pairs are labelled from it (relations by depth ratio,
:func:`depthforge.losses.ranking.ratio_relations`).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthforge.annotate.samplers import SAMPLERS, make_sampler
from depthforge.annotate.store import Store
from depthforge.data.folder import IMAGE_SUFFIXES, FolderDataset
from depthforge.errors import DataError, DepthforgeError
from depthforge.io.image import read_rgb, write_atomic
from depthforge.synth.relative import sample_ordinal_pairs

CONFIG = "annotate.json"
SECRET = "secret_key"
DATABASE = "annotate.sqlite"
IMAGES = "images"
EXPORTS = "exports"
TUTORIAL_QUESTIONS = 3
"""Known-answer questions every annotator answers first (as many as there are gold pairs with
an order: none in a project without gold)."""


def sqlite_url(project_dir: Path) -> str:
    return f"sqlite:///{(Path(project_dir) / DATABASE).resolve()}"


@dataclass
class AnnotationProject:
    """An opened project folder."""

    root: Path
    store: Store
    secret: str

    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES

    def image_file(self, name: str) -> Path | None:
        """The file of a stored image name, only if it lies inside ``images/`` (no traversal)."""
        image = self.store.image_by_name(name)
        if image is None:
            return None
        path = (self.images_dir / image.name).resolve()
        return path if path.is_relative_to(self.images_dir.resolve()) and path.is_file() else None


def open_project(project_dir: str | Path, db: str | None = None) -> AnnotationProject:
    """Open ``project_dir`` made by :func:`init_project` (``db``: its database URL when it is
    not the folder's SQLite file)."""
    root = Path(project_dir)
    if not (root / CONFIG).is_file():
        raise DataError(root, f"not an annotation project (no {CONFIG}; run `annotate init`)")
    return AnnotationProject(
        root, Store(db or sqlite_url(root), create=True), (root / SECRET).read_text().strip()
    )


def _image_sources(folder: Path) -> tuple[list[tuple[str, Path]], Callable[[str], object]]:
    """``[(name, path)]`` of the images under ``folder`` and ``depth(name)`` (None without)."""
    if (folder / "images").is_dir():  # the folder format: depth/<id> beside images/<id>
        data = FolderDataset(folder)
        folder = folder / "images"

        def depth_of(name: str) -> np.ndarray | None:
            return data.depth(Path(name).with_suffix("").as_posix())

    else:

        def depth_of(name: str) -> np.ndarray | None:
            return None

    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return [(p.relative_to(folder).as_posix(), p) for p in paths], depth_of


def model_predictor(model: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """``(H, W, 3)`` uint8 image → ``(H, W)`` prediction of a saved model folder or a
    pretrained name (``depthforge models``)."""
    import torch

    from depthforge.models.predict import predict
    from depthforge.models.pretrained.load import resolve_model
    from depthforge.types import image_to_tensor

    network = resolve_model(model).eval()

    def run(image: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return predict(network, image_to_tensor(image)[None]).depth[0, 0].numpy()

    return run


def init_project(
    project_dir: str | Path,
    images: str | Path,
    *,
    sampler: str = "random",
    k: int = 3,
    pairs_per_image: int = 10,
    gold_rate: float = 0.1,
    model: str | Path | None = None,
    seed: int = 0,
    db: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AnnotationProject:
    """Create a project from a folder of images: copy them, sample ``pairs_per_image`` pairs per
    image with ``sampler`` (plus ⌈pairs_per_image · gold_rate⌉ gold pairs per image where depth
    exists) and create the database.

    Raises:
        DataError / DepthforgeError: bad settings, an existing project, no images.
    """
    root, folder = Path(project_dir), Path(images)
    if sampler not in SAMPLERS:
        raise DepthforgeError(f"unknown sampler {sampler!r}; known: {', '.join(SAMPLERS)}")
    if k < 1 or pairs_per_image < 1 or not 0 <= gold_rate < 1:
        raise DepthforgeError("need k ≥ 1, pairs-per-image ≥ 1 and 0 ≤ gold-rate < 1")
    if (root / CONFIG).exists():
        raise DataError(root, "an annotation project exists here already")
    if not folder.is_dir():
        raise DataError(folder, "image folder not found")
    sources, depth_of = _image_sources(folder)
    if not sources:
        raise DataError(folder, "no images (.png, .jpg, .jpeg) found")
    if sampler == "model" and model is None:
        raise DepthforgeError("--sampler model needs --model FOLDER (a saved depthforge model)")
    sample = make_sampler(sampler, model_predictor(model) if model else None)
    root.mkdir(parents=True, exist_ok=True)
    secret_path = root / SECRET
    secret_path.write_text(secrets.token_hex(32))
    os.chmod(secret_path, 0o600)
    store = Store(db or sqlite_url(root), create=True)
    rng = np.random.default_rng(seed)
    n_gold = math.ceil(pairs_per_image * gold_rate)
    store.create_project(root.name, sampler, k, gold_rate, TUTORIAL_QUESTIONS)
    for done, (name, path) in enumerate(sources, start=1):
        image = read_rgb(path)
        h, w = image.shape[:2]
        target = root / IMAGES / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda tmp, src=path: shutil.copyfile(src, tmp))
        pairs = sample(image, pairs_per_image, rng)
        depth, gold = depth_of(name), None
        if depth is not None and n_gold:
            gold_pairs, gold = sample_ordinal_pairs(depth, depth > 0, n_gold, rng)
            pairs = np.concatenate([pairs, gold_pairs])
            gold = np.concatenate([np.full(len(pairs) - len(gold_pairs), 2), gold])
        store.add_image(name, w, h, pairs, gold)
        if progress is not None:
            progress(done, len(sources))
    config = {
        "name": root.name,
        "sampler": sampler,
        "k": k,
        "pairs_per_image": pairs_per_image,
        "gold_rate": gold_rate,
        "seed": seed,
        "model": None if model is None else str(model),
    }
    text = json.dumps(config, indent=2)
    write_atomic(root / CONFIG, lambda tmp: tmp.write_text(text))
    (root / EXPORTS).mkdir(exist_ok=True)
    return AnnotationProject(root, store, secret_path.read_text())

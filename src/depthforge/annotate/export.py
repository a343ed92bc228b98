"""From stored answers to what the library reads: aggregated relations per pair, written as a DIW
CSV and as the folder format's ``relative_depth.csv``, plus the numbers of the admin page.

The relation classes are DIW's: index 0, 1, 2 ↔ relation −1 ('<', A nearer), 0 ('='), +1
('>', A farther). Gold and tutorial answers are used to measure annotators, not exported.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthforge.annotate.quality import agreement, dawid_skene, gold_accuracy, majority
from depthforge.annotate.schema import ANSWER_TO_RELATION
from depthforge.annotate.store import Store
from depthforge.data.diw import DIW_CSV_NAMES, FOLDER_CSV_NAME, write_diw_csv
from depthforge.errors import DataError, DepthforgeError
from depthforge.io.image import write_atomic

AGGREGATIONS = ("majority", "dawid_skene")
RELATIONS = np.array([-1, 0, 1])
EXPORT_INFO = "annotate_export.json"
DIW_CSV = DIW_CSV_NAMES["train_val"]


@dataclass(frozen=True)
class Votes:
    """The ordinary (non-gold) answers as vote arrays over dense item / worker indices."""

    pair_ids: np.ndarray  # (I,) the pair of each item index
    worker_ids: np.ndarray  # (W,) the annotator of each worker index
    items: np.ndarray  # (V,)
    workers: np.ndarray  # (V,)
    labels: np.ndarray  # (V,) class index 0, 1, 2


def ordinary_votes(store: Store) -> Votes:
    rows = [r for r in store.judgements() if r.kind == "pair" and r.answer in ANSWER_TO_RELATION]
    pair_ids, items = np.unique(np.array([r.pair_id for r in rows], np.int64), return_inverse=True)
    worker_ids, workers = np.unique(
        np.array([r.annotator_id for r in rows], np.int64), return_inverse=True
    )
    labels = np.array([ANSWER_TO_RELATION[r.answer] + 1 for r in rows], np.int64)
    return Votes(pair_ids, worker_ids, items.reshape(-1), workers.reshape(-1), labels)


def aggregate(store: Store, method: str) -> dict[int, int]:
    """Pair id → aggregated relation in {−1, 0, +1}, for the pairs with answers (a majority
    tie leaves a pair out)."""
    if method not in AGGREGATIONS:
        raise DepthforgeError(f"unknown aggregation {method!r}; known: {', '.join(AGGREGATIONS)}")
    v = ordinary_votes(store)
    if len(v.items) == 0:
        return {}
    if method == "majority":
        labels = majority(v.items, v.labels, len(v.pair_ids), 3)
    else:
        labels = dawid_skene(
            v.items, v.workers, v.labels, len(v.pair_ids), len(v.worker_ids), 3
        ).labels
    return {
        int(p): int(RELATIONS[label])
        for p, label in zip(v.pair_ids, labels, strict=True)
        if label >= 0
    }


def write_export(
    store: Store, images_dir: Path, out: Path, method: str, *, overwrite: bool = False
) -> dict:
    """Write ``out/images/…`` (copies), ``out/DIW_train_val.csv`` and ``out/relative_depth.csv``
    (the same pairs; image paths relative to ``out``) and ``out/annotate_export.json`` naming the
    aggregation. ``open_dataset("diw", out, split="train_val")`` reads the export.

    Returns:
        the export record (also written as JSON).
    """
    out = Path(out)
    if (out / EXPORT_INFO).exists() and not overwrite:
        raise DepthforgeError(f"{out}: an export exists already (pass --overwrite to replace it)")
    relations = aggregate(store, method)
    by_image: dict[int, tuple] = {}
    for pair_id, image, pair in store.pairs():
        if pair_id in relations:
            entry = by_image.setdefault(image.id, (image, [], []))
            entry[1].append(pair)
            entry[2].append(relations[pair_id])
    records = []
    for image, pairs, rels in by_image.values():
        source = images_dir / image.name
        if not source.is_file():
            raise DataError(source, "an image of the project is missing")
        target = out / "images" / image.name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda tmp, src=source: shutil.copyfile(src, tmp))
        records.append(
            (f"images/{image.name}", np.array(pairs), np.array(rels), image.width, image.height)
        )
    for name in (DIW_CSV, FOLDER_CSV_NAME):
        write_diw_csv(out / name, records)
    counts = np.bincount(np.array(list(relations.values()), np.int64) + 1, minlength=3)
    info = {
        "aggregation": method,
        "pairs": len(relations),
        "images": len(records),
        "relations": {"<": int(counts[0]), "=": int(counts[1]), ">": int(counts[2])},
        "files": {"diw_csv": DIW_CSV, "folder_csv": FOLDER_CSV_NAME},
    }
    text = json.dumps(info, indent=2)
    write_atomic(out / EXPORT_INFO, lambda tmp: tmp.write_text(text))
    return info


def project_stats(store: Store) -> dict:
    """The admin page's numbers: counts, per-annotator answers and gold accuracy (tutorial
    answers excluded), agreement among ordinary answers, and pairs with all ``k`` answers."""
    gold = store.gold()
    rows = store.judgements()
    people = store.annotators()
    index = {a.id: n for n, a in enumerate(people)}
    scored = [
        r for r in rows if r.kind == "gold" and r.answer in ANSWER_TO_RELATION and r.pair_id in gold
    ]
    workers = np.array([index[r.annotator_id] for r in scored], np.int64)
    correct = np.array([ANSWER_TO_RELATION[r.answer] == gold[r.pair_id] for r in scored], bool)
    accuracy, n_gold = gold_accuracy(workers, correct, len(people))
    answered = np.bincount(
        np.array([index[r.annotator_id] for r in rows], np.int64), minlength=len(people)
    )
    v = ordinary_votes(store)
    complete = np.bincount(v.items, minlength=len(v.pair_ids)) >= store.project().k
    counts = store.counts()
    return {
        "counts": counts,
        "ordinary_pairs": counts["pairs"] - counts["gold_pairs"],
        "complete_pairs": int(complete.sum()),
        "agreement": agreement(v.items, v.labels, len(v.pair_ids), 3),
        "annotators": [
            {
                "name": a.name,
                "admin": a.is_admin,
                "answered": int(answered[n]),
                "gold_answered": int(n_gold[n]),
                "gold_accuracy": None if np.isnan(accuracy[n]) else float(accuracy[n]),
            }
            for n, a in enumerate(people)
        ],
    }

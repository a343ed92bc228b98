"""DIW / NYU relative-depth CSVs and the DIW reader: hand-written files, round trips, bad lines."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from depthforge.data.diw import (
    DIW,
    RelativeDepthRecord,
    read_diw_csv,
    read_nyu_relative_csv,
    rescale_pairs,
    write_diw_csv,
)
from depthforge.data.registry import open_dataset
from depthforge.errors import DataError

HAND_WRITTEN_DIW = """./DIW_test/a.thumb
3,1,5,2,>,4,6
./DIW_test/a.thumb
1,4,6,4,<,4,6
./DIW_test/b.thumb
2,2,1,1,>,2,2
"""


def test_read_diw_csv_hand_written(tmp_path):
    path = tmp_path / "DIW_test.csv"
    path.write_text(HAND_WRITTEN_DIW)
    records = read_diw_csv(path)
    assert [r.image_path for r in records] == ["./DIW_test/a.thumb", "./DIW_test/b.thumb"]
    a, b = records
    # 1-based (y, x) row first -> 0-based; '>' = A farther = +1
    assert a.pairs.tolist() == [[2, 0, 4, 1], [0, 3, 5, 3]]
    assert a.relations.tolist() == [1, -1]
    assert (a.width, a.height) == (4, 6)
    assert b.pairs.tolist() == [[1, 1, 0, 0]] and b.relations.tolist() == [1]
    assert a.pairs.dtype == np.int64 and a.relations.dtype == np.int64


def test_write_then_read_is_identity_including_equal_relations(tmp_path):
    rng = np.random.default_rng(0)
    records = []
    for k, (w, h) in enumerate([(7, 5), (3, 9)]):
        n = 6
        pairs = np.stack(
            [
                rng.integers(0, h, n),
                rng.integers(0, w, n),
                rng.integers(0, h, n),
                rng.integers(0, w, n),
            ],
            axis=1,
        )
        relations = np.array([1, -1, 0, 1, 0, -1])
        records.append((f"images/{k:03d}.png", pairs, relations, w, h))
    path = write_diw_csv(tmp_path / "out" / "pairs.csv", records)
    text = path.read_text().splitlines()
    assert len(text) == 2 * 12  # DIW: one two-line block per pair
    assert text[0] == "images/000.png"
    assert text[5].endswith(",=,7,5")  # relation 0 written as '='
    back = read_diw_csv(path)
    assert len(back) == 2
    for (img, pairs, rel, w, h), rec in zip(records, back, strict=True):
        assert isinstance(rec, RelativeDepthRecord)
        assert (rec.image_path, rec.width, rec.height) == (img, w, h)
        np.testing.assert_array_equal(rec.pairs, pairs)
        np.testing.assert_array_equal(rec.relations, rel)


def test_write_diw_csv_line_is_one_based(tmp_path):
    path = write_diw_csv(tmp_path / "x.csv", [("im.jpg", np.array([[0, 1, 2, 3]]), [-1], 4, 3)])
    assert path.read_text() == "im.jpg\n1,2,3,4,<,4,3\n"


@pytest.mark.parametrize(
    "pairs, relations, match",
    [
        (np.array([[0, 0, 3, 0]]), [1], "outside"),  # y_b = 3 in a 3-row image
        (np.array([[0, 0, 0, 4]]), [1], "outside"),
        (np.array([[0, 0, 1, 1]]), [2], "relations"),
        (np.array([0, 0, 1, 1]), [1], r"\(N, 4\)"),
    ],
)
def test_write_diw_csv_refuses_bad_records(tmp_path, pairs, relations, match):
    with pytest.raises(ValueError, match=match):
        write_diw_csv(tmp_path / "x.csv", [("im.jpg", pairs, relations, 4, 3)])
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    "text, line, problem",
    [
        ("a.jpg\n3,1,5,2,>,4\n", 2, "expected"),
        ("a.jpg\n3,1,5,2,?,4,6\n", 2, "ord"),
        ("a.jpg\n3,1,5,2,>,4,6\nb.jpg\n3,x,5,2,>,4,6\n", 4, "whole numbers"),
        ("a.jpg\n3.5,1,5,2,>,4,6\n", 2, "whole numbers"),
        ("a.jpg\n7,1,5,2,>,4,6\n", 2, "outside"),
        ("a.jpg\n0,1,5,2,>,4,6\n", 2, "outside"),
        ("a.jpg\n3,1,5,2,>,4,6\nb.jpg\n", 3, "without"),
    ],
)
def test_malformed_diw_line_names_file_and_line(tmp_path, text, line, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=problem) as err:
        read_diw_csv(path)
    assert err.value.path == path
    assert f"line {line}:" in str(err.value)


def test_read_nyu_relative_csv_hand_written(tmp_path):
    path = tmp_path / "nyu.csv"
    path.write_text(
        "filename,something,n_point\n"
        "img_0001.png,0,2\n"
        "10,20,30,40,>\n"
        "480,640,1,1,=\n"
        "img_0002.png,0,1\n"
        "5,6,7,8,<\n"
    )
    a, b = read_nyu_relative_csv(path)
    assert a.image_path == "img_0001.png" and (a.width, a.height) == (640, 480)
    assert a.pairs.tolist() == [[9, 19, 29, 39], [479, 639, 0, 0]]
    assert a.relations.tolist() == [1, 0]
    assert b.pairs.tolist() == [[4, 5, 6, 7]] and b.relations.tolist() == [-1]


def test_nyu_csv_truncated_block_names_line(tmp_path):
    path = tmp_path / "nyu.csv"
    path.write_text("header\nimg.png,0,3\n1,1,2,2,>\n")
    with pytest.raises(DataError, match="line 2: announces 3 pairs"):
        read_nyu_relative_csv(path)


def test_rescale_pairs_follows_the_lua_floor_rule():
    # 1-based y = 4 of 6 rows -> floor(4 * 3 / 6) = 2 (1-based) -> 1 (0-based); x = 1 of 4 columns
    # -> floor(1 * 8 / 4) = 2 -> 1; clamps to >= 1 (1-based) so 0-based never goes negative.
    pairs = np.array([[3, 0, 5, 3]])
    assert rescale_pairs(pairs, (6, 4), (3, 8)).tolist() == [[1, 1, 2, 7]]
    assert rescale_pairs(pairs, (6, 4), (6, 4)).tolist() == pairs.tolist()


def _diw_tree(tmp_path, image_size=(4, 6)):
    """A DIW root with two '.thumb' JPEG images and the hand-written CSV."""
    (tmp_path / "DIW_test").mkdir()
    for name in ("a", "b"):
        w, h = image_size if name == "a" else (2, 2)
        Image.new("RGB", (w, h), (10, 200, 30)).save(
            tmp_path / "DIW_test" / f"{name}.thumb", "JPEG"
        )
    (tmp_path / "DIW_test.csv").write_text(HAND_WRITTEN_DIW)
    return tmp_path


def test_diw_dataset_loads_pairs_and_empty_depth(tmp_path):
    root = _diw_tree(tmp_path)
    ds = open_dataset("diw", str(root), split="test")
    assert isinstance(ds, DIW) and len(ds) == 2
    assert ds.ids == ["DIW_test/a.thumb", "DIW_test/b.thumb"]
    s = ds[0]
    assert s.image.shape == (3, 6, 4)
    assert s.pairs.dtype == torch.int64 and s.pairs.tolist() == [[2, 0, 4, 1], [0, 3, 5, 3]]
    assert s.relations.tolist() == [1, -1]
    assert not s.mask.any() and float(s.depth.abs().sum()) == 0.0
    assert s.K is None and s.meta["dataset"] == "diw" and s.meta["id"] == "DIW_test/a.thumb"


def test_diw_dataset_rescales_pairs_to_a_smaller_image(tmp_path):
    root = _diw_tree(tmp_path, image_size=(8, 3))  # CSV says 4×6, file is 8 wide × 3 high
    s = DIW(root, split="test")[0]
    assert s.image.shape == (3, 3, 8)
    # 1-based (3,1,5,2): floor(3·3/6)=1, floor(1·8/4)=2, floor(5·3/6)=2, floor(2·8/4)=4 -> -1
    # 1-based (1,4,6,4): floor(0.5)=0 clamped to 1, floor(8)=8, floor(3)=3, 8 -> -1
    assert s.pairs.tolist() == [[0, 1, 1, 3], [0, 7, 2, 7]]
    assert s.meta["csv_size"] == (4, 6)


def test_diw_thumb_suffix_substitution(tmp_path):
    root = _diw_tree(tmp_path)
    (root / "DIW_test" / "a.thumb").rename(root / "DIW_test" / "a.jpg")
    assert DIW(root, split="test").image_path(0) == root / "DIW_test" / "a.jpg"


def test_diw_split_choice_errors(tmp_path):
    root = _diw_tree(tmp_path)
    assert DIW(root).csv_path == root / "DIW_test.csv"  # the only CSV present
    (root / "DIW_train_val.csv").write_text(HAND_WRITTEN_DIW)
    with pytest.raises(DataError, match="several CSVs"):
        DIW(root)
    with pytest.raises(DataError, match="unknown DIW split"):
        DIW(root, split="val")
    with pytest.raises(DataError, match="CSV file not found"):
        DIW(root, csv="nope.csv")
    (root / "DIW_test" / "b.thumb").unlink()
    with pytest.raises(DataError, match="image of sample 'DIW_test/b.thumb' not found"):
        DIW(root, split="test")[1]

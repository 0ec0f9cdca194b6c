"""The planted-cue demo set: layout, determinism, ground truth boxes and attribution."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pawpularity.data.demo import (
    CUE_EFFECT,
    FLAG_RATES,
    FULL_SIZES,
    HEIGHT,
    MARGIN,
    PHOTOS_DIR,
    _vary,
    make_demo,
)
from pawpularity.data.images import IMAGE_SUFFIXES
from pawpularity.data.schema import FLAGS, TARGET, TRAIN_COLUMNS, read_table
from pawpularity.errors import DataError


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "set"
    make_demo(out, n=12, seed=3)
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full") / "set"
    make_demo(out, n=8, seed=1, full_size=True)
    return out


@pytest.fixture(scope="module")
def big_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("big")
    make_demo(out, n=96, seed=0)
    return out


def test_same_seed_gives_identical_files(demo: Path, tmp_path: Path) -> None:
    make_demo(tmp_path, n=12, seed=3)
    first, second = _files(demo), _files(tmp_path)
    assert first.keys() == second.keys()
    assert len(first) == 12 + 4  # images, train.csv, cues.csv, sources.csv, LICENSES.txt
    assert all(first[k] == second[k] for k in first)


def test_other_seed_gives_other_files(demo: Path, tmp_path: Path) -> None:
    make_demo(tmp_path, n=12, seed=4)
    assert (demo / "train.csv").read_bytes() != (tmp_path / "train.csv").read_bytes()
    assert not set(_files(demo)) & {k for k in _files(tmp_path) if k.startswith("train/")}


def test_kaggle_layout(demo: Path) -> None:
    text = (demo / "train.csv").read_text(encoding="utf-8")
    assert "\r" not in text
    assert text.splitlines()[0] == ",".join(TRAIN_COLUMNS)
    table = read_table(demo / "train.csv")
    assert len(table) == 12
    assert table["Id"].str.fullmatch(r"[0-9a-f]{32}").all()
    for image_id in table["Id"]:
        with Image.open(demo / "train" / f"{image_id}.jpg") as im:
            assert im.format == "JPEG"
            assert im.height == 256 and 256 <= im.width <= 320


def test_exactly_half_carry_the_cue_and_all_the_decoy(demo: Path) -> None:
    cues = _rows(demo / "cues.csv")
    header = (demo / "cues.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "Id,has_cue,x0,y0,x1,y1,has_decoy,dx0,dy0,dx1,dy1"
    assert [r["Id"] for r in cues] == list(read_table(demo / "train.csv")["Id"])
    assert sum(r["has_cue"] == "1" for r in cues) == 6
    assert all(r["has_decoy"] == "1" for r in cues)
    for r in cues:
        if r["has_cue"] == "0":
            assert r["x0"] == r["y0"] == r["x1"] == r["y1"] == ""


def _sizes(root: Path) -> set[tuple[int, int]]:
    sizes = set()
    for p in (root / "train").iterdir():
        with Image.open(p) as im:
            sizes.add(im.size)
    return sizes


def test_photos_have_the_demo_or_the_real_sizes(demo: Path, full: Path) -> None:
    assert {h for _, h in _sizes(demo)} == {HEIGHT}
    assert _sizes(full) == set(FULL_SIZES)  # portrait and landscape, nothing else


class EdgeArea:
    """A generator whose crop area is given (the rest seeded): the areas where the crop fills the
    photo exactly, in floating point a hair wider than it (found on the shipped sizes)."""

    def __init__(self, area: float) -> None:
        self.area, self.rng = area, np.random.default_rng(0)

    def uniform(self, low: float, high: float, size: int | None = None) -> Any:
        if (low, high) == (0.5, 1.0):
            return self.area
        assert low <= high, (low, high)
        return self.rng.uniform(low, high, size)

    def random(self) -> float:
        return float(self.rng.random())


@pytest.mark.parametrize("name", ["demo", "full"])
def test_boxes_inside_apart_and_square(name: str, request: pytest.FixtureRequest) -> None:
    demo = request.getfixturevalue(name)
    for r in _rows(demo / "cues.csv"):
        with Image.open(demo / "train" / f"{r['Id']}.jpg") as im:
            w, h = im.size
        boxes = [[int(r[k]) for k in ("dx0", "dy0", "dx1", "dy1")]]
        if r["has_cue"] == "1":
            boxes.append([int(r[k]) for k in ("x0", "y0", "x1", "y1")])
        for x0, y0, x1, y1 in boxes:
            assert x1 - x0 == y1 - y0 == round(0.3 * h)
            assert x0 >= MARGIN and y0 >= MARGIN and x1 <= w - MARGIN and y1 <= h - MARGIN
        if len(boxes) == 2:
            (a0, b0, a1, b1), (c0, d0, c1, d1) = boxes
            assert a1 <= c0 or c1 <= a0 or b1 <= d0 or d1 <= b0  # no overlap
            gap = np.hypot((a0 + a1 - c0 - c1) / 2, (b0 + b1 - d0 - d1) / 2)
            assert gap >= 1.5 * (a1 - a0)


@pytest.mark.parametrize(
    ("photo", "size", "area"),
    [((500, 500), (720, 960), 0.794125), ((412, 500), (960, 720), 0.966525),
     ((233, 350), (960, 720), 0.621975)],
)  # fmt: skip
def test_a_crop_that_fills_the_photo_stays_inside_it(
    photo: tuple[int, int], size: tuple[int, int], area: float
) -> None:
    """Photo 926 of a 9,912-photo full-size set stopped `data demo` with "high - low < 0"."""
    out = _vary(Image.new("RGB", photo, (90, 120, 60)), size, EdgeArea(area))  # type: ignore[arg-type]
    assert out.shape == (size[1], size[0], 3)


@pytest.mark.parametrize("name", ["demo", "full"])
def test_cue_is_orange_and_decoy_is_a_checker(name: str, request: pytest.FixtureRequest) -> None:
    demo = request.getfixturevalue(name)
    for r in _rows(demo / "cues.csv"):
        a = np.asarray(Image.open(demo / "train" / f"{r['Id']}.jpg"), dtype=float)
        decoy = a[int(r["dy0"]) : int(r["dy1"]), int(r["dx0"]) : int(r["dx1"])].mean(axis=2)
        assert (decoy < 50).mean() > 0.35 and (decoy > 205).mean() > 0.35
        if r["has_cue"] == "1":
            red, green, blue = a[int(r["y0"]) : int(r["y1"]), int(r["x0"]) : int(r["x1"])].mean(
                axis=(0, 1)
            )
            assert red > green + 40 and green > blue + 30


def test_cue_raises_the_score_by_its_effect(big_demo: Path) -> None:
    table = read_table(big_demo / "train.csv")
    cue = np.array([r["has_cue"] == "1" for r in _rows(big_demo / "cues.csv")])
    scores = table[TARGET].to_numpy()
    assert cue.sum() == 48
    assert abs(scores[cue].mean() - scores[~cue].mean() - CUE_EFFECT) < 3
    assert 3.5 < scores[~cue].std() < 6.5  # noise only (sd 5) within a group


def test_flags_at_the_real_rates(big_demo: Path) -> None:
    table = read_table(big_demo / "train.csv")
    for flag in FLAGS:
        assert abs(table[flag].mean() - FLAG_RATES[flag]) < 0.12, flag


def test_every_shipped_photo_is_used_and_traceable(big_demo: Path) -> None:
    shipped = {p.name for p in PHOTOS_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    sources = _rows(big_demo / "sources.csv")
    assert [r["Id"] for r in sources] == list(read_table(big_demo / "train.csv")["Id"])
    assert {r["source"] for r in sources} == shipped
    assert len(shipped) == 50


def test_attribution_travels_with_the_set(demo: Path) -> None:
    text = (demo / "LICENSES.txt").read_text(encoding="utf-8")
    assert "adapted" in text and "CC BY-SA 4.0" in text and "ShareAlike" in text and "CC0" in text
    assert text.endswith((PHOTOS_DIR / "LICENSES.txt").read_text(encoding="utf-8"))


def test_rerun_overwrites_its_files_and_keeps_others(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    make_demo(tmp_path, n=4, seed=1)
    make_demo(tmp_path, n=4, seed=2)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert len(list((tmp_path / "train").iterdir())) == 8  # old images stay, CSVs name new ones
    assert not list(tmp_path.rglob("*.tmp"))
    table = read_table(tmp_path / "train.csv")
    assert all((tmp_path / "train" / f"{i}.jpg").is_file() for i in table["Id"])


def test_refuses_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at least 2"):
        make_demo(tmp_path / "a", n=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        make_demo(tmp_path / "file")
    kaggle = tmp_path / "kaggle"
    kaggle.mkdir()
    (kaggle / "train.csv").write_text("Id\n")
    with pytest.raises(DataError, match="did not write"):
        make_demo(kaggle, n=2)
    assert (kaggle / "train.csv").read_text() == "Id\n"
    assert sorted(p.name for p in kaggle.iterdir()) == ["train.csv"]

"""predict: odd but valid photos are scored, broken ones get an error row, exit codes 0/2/1."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.data.photos import collect
from pawpularity.data.schema import FLAGS
from pawpularity.errors import RunError
from pawpularity.runs.engine import Engine
from pawpularity.runs.predict import predict
from pawpularity.runs.run import load_run
from tests.conftest import PETS, MakeKaggleDir

COLUMNS = ["path", "score", "score_low", "score_high", "percentile", *FLAGS, "error"]


def odd_photos(folder: Path) -> list[Path]:
    """Valid images in the modes and containers that real uploads come in."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = Image.open(PETS / "dog_beagle_10.jpg").convert("RGB")
    photo.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257).save(folder / "gray16.png")
    photo.convert("P").save(folder / "palette.gif")
    photo.save(folder / "photo.webp")
    photo.save(folder / "phone.heic")
    rgba = photo.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(folder / "alpha.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    photo.save(folder / "rotated.jpg", exif=exif)
    photo.resize((2000, 40)).save(folder / "panorama.jpg")
    photo.resize((10, 3000)).save(folder / "strip.jpg")
    return sorted(folder.iterdir())


def broken_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data = (PETS / "dog_beagle_10.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notes.jpg").write_text("not a photo")
    (folder / "empty.png").write_bytes(b"")
    return sorted(folder.iterdir())


def run_predict(*args: str) -> tuple[int, pd.DataFrame | None, str]:
    result = CliRunner().invoke(app, ["predict", *args])
    out = Path(args[args.index("--out") + 1])
    frame = pd.read_csv(out, keep_default_na=False) if out.is_file() else None
    error = "" if result.exception is None else str(result.exception)
    return result.exit_code, frame, result.output + error


def test_odd_photos_score_and_broken_ones_report(tiny_run: Path, tmp_path: Path) -> None:
    good, bad = odd_photos(tmp_path / "in" / "good"), broken_files(tmp_path / "in" / "bad")
    code, frame, _ = run_predict(
        str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "p.csv")
    )
    assert code == 2 and frame is not None
    assert list(frame.columns) == COLUMNS
    rows = frame.set_index("path")
    for p in good:
        assert rows.loc[str(p), "error"] == "" and 1 <= float(rows.loc[str(p), "score"]) <= 100
        assert all(0 <= float(rows.loc[str(p), f]) <= 1 for f in FLAGS)
    for p in bad:
        assert rows.loc[str(p), "score"] == "" and str(p) in rows.loc[str(p), "error"]


def test_exit_codes(tiny_run: Path, tmp_path: Path) -> None:
    good = odd_photos(tmp_path / "good")
    bad = broken_files(tmp_path / "bad")
    out = str(tmp_path / "p.csv")
    assert run_predict(str(tiny_run), str(good[0]), str(good[1]), "--out", out)[0] == 0
    again = ["--out", out, "--overwrite"]
    assert run_predict(str(tiny_run), str(bad[0]), *again)[0] == 1
    missing = str(tmp_path / "nowhere.jpg")
    code, frame, _ = run_predict(str(tiny_run), str(good[0]), missing, *again)
    assert code == 2 and frame is not None and "file not found" in frame["error"].iloc[1]


def test_globs_and_folds_are_averaged(tiny_run: Path, tmp_path: Path) -> None:
    for name in ("cat_Bengal_16.jpg", "dog_boxer_112.jpg"):
        shutil.copy(PETS / name, tmp_path / name)
    code, frame, _ = run_predict(
        str(tiny_run), str(tmp_path / "*.jpg"), "--out", str(tmp_path / "p.csv")
    )
    assert code == 0 and frame is not None and len(frame) == 2
    run = load_run(tiny_run)
    nets = run.ensemble().members
    assert len(nets) == 2
    from pawpularity.data.dataset import load_prepared

    x = load_prepared(tmp_path / "cat_Bengal_16.jpg", run.image_size)[None]
    with torch.no_grad():
        expected = np.mean([float(net(x)[0]) for net in nets])
    assert float(frame["score"].iloc[0]) == pytest.approx(expected, abs=1e-3)


def test_a_kaggle_test_csv_is_accepted(
    tiny_run: Path, make_kaggle_dir: MakeKaggleDir, tmp_path: Path
) -> None:
    data = make_kaggle_dir(n=3, split="test")
    code, frame, _ = run_predict(
        str(tiny_run), str(data / "test.csv"), "--out", str(tmp_path / "p.csv")
    )
    assert code == 0 and frame is not None and len(frame) == 3
    assert all(Path(p).parent.name == "test" for p in frame["path"])


def test_unfinished_or_missing_runs_are_clear_errors(tiny_run: Path, tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no such run"):
        load_run(tmp_path / "nothing")
    partial = tmp_path / "partial"
    shutil.copytree(tiny_run, partial)
    (partial / "fold1" / "model.safetensors").unlink()
    with pytest.raises(RunError, match="fold1"):
        load_run(partial)
    result = CliRunner().invoke(app, ["predict", str(partial), str(PETS), "--out", "x.csv"])
    assert result.exit_code != 0


def test_file_like_uploads_and_odd_sizes_prepare_to_the_run_size(tiny_run: Path) -> None:
    from pawpularity.data.dataset import prepare
    from pawpularity.data.images import load_image

    buffer = io.BytesIO()
    Image.new("RGB", (3000, 17), "red").save(buffer, "PNG")
    buffer.seek(0)
    x = prepare(load_image(buffer, name="upload.png"), load_run(tiny_run).image_size)
    assert x.shape == (3, 64, 64)


@dataclass
class Counting:
    """An engine that records how many photos it scored."""

    engine: Engine
    calls: list[int]

    @property
    def image_size(self) -> int:
        return self.engine.image_size

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls.append(len(pixels))
        return self.engine(pixels, flags)


def test_resume_scores_only_what_is_missing(tiny_run: Path, tmp_path: Path) -> None:
    photos = sorted(PETS.glob("*.jpg"))[:6]
    (tmp_path / "broken.jpg").write_text("not a photo")
    items = collect([*photos, tmp_path / "broken.jpg"])
    run, out = load_run(tiny_run), tmp_path / "p.csv"
    predict(run, items[:3], out, batch_size=2, workers=0)
    whole = out.read_text()
    with out.open("a") as f:  # a crash in the middle of a line
        f.write(f"{items[3].path},12.3")
    calls: list[int] = []
    counting = replace(run, engine=Counting(run.engine, calls))
    summary = predict(counting, items, out, batch_size=2, workers=1, resume=True)
    assert sum(calls) == 3 and (summary.scored, summary.failed) == (6, 1)
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame["path"]) == [str(it.path) for it in items]
    assert out.read_text().startswith(whole)
    fresh = tmp_path / "fresh.csv"
    predict(run, items, fresh, batch_size=4, workers=0)
    assert np.allclose(
        pd.to_numeric(frame["score"].iloc[:6]), pd.read_csv(fresh)["score"].iloc[:6], atol=1e-3
    )
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    from pawpularity.errors import DataError

    with pytest.raises(DataError, match=r"not a file of this version.s columns"):
        predict(run, items, tmp_path / "other.csv", resume=True)


def test_out_is_never_an_input_nor_replaced_unasked(
    tiny_run: Path, make_kaggle_dir: MakeKaggleDir, tmp_path: Path
) -> None:
    data = make_kaggle_dir(n=3)
    labels = (data / "train.csv").read_text()
    for flags in ([], ["--overwrite"], ["--resume"]):
        args = [str(tiny_run), str(data / "train.csv"), "--out", str(data / "train.csv")]
        code, _, output = run_predict(*args, *flags)
        assert code == 1 and (data / "train.csv").read_text() == labels  # the labels survive
        assert "is one of the inputs" in output
    out = tmp_path / "p.csv"
    out.write_text("something of the user's\n")
    code, _, _ = run_predict(str(tiny_run), str(PETS / "dog_pug_16.jpg"), "--out", str(out))
    assert code == 1 and out.read_text() == "something of the user's\n"
    code, frame, _ = run_predict(
        str(tiny_run), str(PETS / "dog_pug_16.jpg"), "--out", str(out), "--overwrite"
    )
    assert code == 0 and frame is not None and len(frame) == 1


def test_resume_knows_a_path_however_it_is_spelled(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("cat_Bengal_16.jpg", "dog_boxer_112.jpg", "dog_pug_16.jpg"):
        shutil.copy(PETS / name, photos / name)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "p.csv"
    assert run_predict(str(tiny_run), "photos", "--out", str(out))[0] == 0
    for spelling in (str(photos) + "/", str(photos), "./photos/../photos"):
        code, frame, _ = run_predict(str(tiny_run), spelling, "--out", str(out), "--resume")
        assert code == 0 and frame is not None and len(frame) == 3, spelling
    empty = tmp_path / "killed.csv"
    empty.write_bytes(b"")  # killed before its first row
    code, frame, _ = run_predict(str(tiny_run), "photos", "--out", str(empty), "--resume")
    assert code == 0 and frame is not None and len(frame) == 3

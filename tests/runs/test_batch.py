"""The picklable batch scorer, and `predict --engine ray` on a local Ray: the local rows exactly."""

from __future__ import annotations

import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.runs import ray_predict
from pawpularity.runs.batch import BatchScorer
from tests.conftest import PETS

SCORED = ["path", "score", "score_low", "score_high", "percentile", *FLAGS, "error"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped photos plus a few broken files."""
    folder = tmp_path_factory.mktemp("batch") / "photos"
    shutil.copytree(PETS, folder, ignore=shutil.ignore_patterns("*.txt"))
    (folder / "notes.jpg").write_text("not a photo")
    (folder / "empty.png").write_bytes(b"")
    data = (PETS / "dog_beagle_10.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    return folder


def predict(*args: str) -> tuple[int, pd.DataFrame]:
    result = CliRunner().invoke(app, ["predict", *args])
    out = Path(args[args.index("--out") + 1])
    return result.exit_code, pd.read_csv(out, keep_default_na=False, dtype=str)


def test_paths_bytes_and_arrays_score_alike_and_broken_ones_fail_alone(tiny_run: Path) -> None:
    scorer = BatchScorer(tiny_run)
    good = sorted(PETS.glob("*.jpg"))[:3]
    by_path = scorer({"path": np.array([str(p) for p in good] + ["/nowhere.jpg"])})
    assert list(by_path) == SCORED
    assert np.isfinite(by_path["score"][:3]).all() and np.isnan(by_path["score"][3])
    assert "file not found" in by_path["error"][3]
    encoded = [p.read_bytes() for p in good] + [b"garbage"]
    by_bytes = scorer({"bytes": encoded, "path": [str(p) for p in good] + ["garbage.jpg"]})
    assert np.allclose(by_bytes["score"][:3], by_path["score"][:3], atol=1e-5)
    assert "garbage.jpg: not an image" in by_bytes["error"][3]
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in good]
    by_image = scorer({"image": np.array(arrays, dtype=object)})
    assert by_image["path"].tolist() == ["<image 0>", "<image 1>", "<image 2>"]
    assert np.allclose(by_image["score"], by_path["score"][:3], atol=1.0)  # no JPEG draft
    flags = np.zeros((3, len(FLAGS)))
    with_flags = scorer({"path": np.array([str(p) for p in good]), "flags": flags})
    assert not np.allclose(with_flags["score"], by_path["score"][:3], atol=1e-6)
    with pytest.raises(ConfigError, match="one of the columns"):
        scorer({"pixels": [1]})


def test_pickles_as_its_run_and_loads_again(tiny_run: Path) -> None:
    scorer = BatchScorer(tiny_run, runtime="eager", batch_size=4)
    assert len(pickle.dumps(scorer)) < 1000  # the recipe, not the weights
    again = pickle.loads(pickle.dumps(scorer))
    batch = {"path": np.array([str(PETS / "cat_Bengal_16.jpg")])}
    assert again.batch_size == 4 and again.run.runtime == "eager"
    assert np.allclose(again(batch)["score"], scorer(batch)["score"])


def test_ray_engine_writes_the_local_rows(tiny_run: Path, photos: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    local_code, local = predict(str(tiny_run), str(photos), "--out", str(tmp_path / "local.csv"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        code, distributed = predict(
            str(tiny_run), str(photos), "--out", str(tmp_path / "ray.csv"), "--engine", "ray"
        )
    finally:
        ray.shutdown()
    assert code == local_code == 2
    assert list(distributed.columns) == list(local.columns) and len(local) == 53
    assert distributed["path"].tolist() == local["path"].tolist()
    assert distributed["error"].tolist() == local["error"].tolist()
    assert (local["error"] != "").sum() == 3
    for column in ["score", *FLAGS]:
        ours, theirs = distributed[column], local[column]
        assert (ours == "").tolist() == (theirs == "").tolist()
        assert np.allclose(pd.to_numeric(ours), pd.to_numeric(theirs), atol=1e-3, equal_nan=True)


def test_without_ray_one_line_says_how_to_install(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    out = tmp_path / "p.csv"
    args = ["predict", str(tiny_run), str(PETS), "--out", str(out), "--engine", "ray"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and not out.exists()
    with pytest.raises(ConfigError, match=r"pip install 'pawpularity\[ray\]'"):
        ray_predict.import_ray()

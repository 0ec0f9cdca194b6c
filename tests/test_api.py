"""The public API: the README's example, its doctests, folds, runs without a network, laziness."""

from __future__ import annotations

import doctest
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import pawpularity as paw
from pawpularity import api
from pawpularity.advise.advisor import Advice
from pawpularity.cli import app
from pawpularity.data.dataset import load_prepared
from pawpularity.data.images import load_image
from pawpularity.errors import ConfigError
from pawpularity.explain.base import SCORE_COLUMN, input_gradient
from pawpularity.runs import batch
from pawpularity.runs.run import load_run
from tests.conftest import PETS

README = Path(__file__).resolve().parents[1] / "README.md"
PHOTO = PETS / "dog_beagle_10.jpg"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_run: Path) -> Path:
    run = tmp_path_factory.mktemp("exported") / "run"
    shutil.copytree(tiny_run, run)
    assert CliRunner().invoke(app, ["export", str(run)]).exit_code == 0
    return run


def readme_example() -> str:
    section = README.read_text().split("## From Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]


@pytest.mark.parametrize("which", ["trained", "exported"])
def test_the_readme_example_gives_what_predict_and_explain_write(
    which: str, tiny_run: Path, exported: Path, tmp_path: Path
) -> None:
    run = tiny_run if which == "trained" else exported
    code = readme_example().replace('"runs/lite0"', repr(str(run)))
    code = code.replace('"rex.jpg"', repr(str(PHOTO)))
    scope: dict[str, object] = {"pil_image": Image.open(PETS / "cat_Bengal_16.jpg")}
    exec(compile(code, str(README), "exec", dont_inherit=True), scope)
    table, cam, advice = scope["table"], scope["cam"], scope["advice"]
    assert isinstance(table, pd.DataFrame) and len(table) == 2
    assert isinstance(cam, np.ndarray) and cam.shape == load_image(PHOTO).size[::-1]
    assert isinstance(advice, Advice)
    # Advice edits the photo at full resolution: its score is the fully decoded photo's.
    full = paw.load(run).score(load_image(PHOTO))["score"][0]
    assert advice.score == pytest.approx(full, abs=1e-4)

    out = tmp_path / "p.csv"
    assert (
        CliRunner().invoke(app, ["predict", str(run), str(PHOTO), "--out", str(out)]).exit_code == 0
    )
    assert pd.read_csv(out)["score"][0] == pytest.approx(table["score"][0], abs=5e-4)
    maps = tmp_path / "maps"
    args = ["explain", str(run), str(PHOTO), "--out", str(maps), "--methods", "gradcam"]
    assert CliRunner().invoke(app, [*args, "--runtime", "eager"]).exit_code == 0
    assert np.allclose(np.load(maps / PHOTO.stem / "gradcam.npy"), cam, atol=1e-6)


@pytest.mark.parametrize("which", ["trained", "exported"])
def test_the_docstring_examples_run(which: str, tiny_run: Path, exported: Path) -> None:
    run = tiny_run if which == "trained" else exported
    globs = {"run": str(run), "photo": str(PHOTO), "load_image": load_image, "paw": paw}
    for module, examples in ((api, 8), (batch, 4)):
        result = doctest.testmod(module, extraglobs=globs, optionflags=doctest.ELLIPSIS)
        assert result.attempted >= examples and result.failed == 0, module


def test_public_names_are_documented() -> None:
    assert set(paw.__all__) >= {"load", "Model", "BatchScorer"}
    for name in api.__all__:
        assert getattr(paw, name) is getattr(api, name)
    for fn in (paw.load, paw.Model.score, paw.Model.explain, paw.Model.advise, paw.BatchScorer):
        doc = fn.__doc__ or ""
        assert "Examples" in doc, fn
    for fn in (paw.load, paw.Model.score, paw.Model.explain, paw.Model.advise):
        assert "Parameters" in (fn.__doc__ or "") and "Returns" in (fn.__doc__ or ""), fn
    with pytest.raises(AttributeError):
        paw.nothing_here  # noqa: B018


def test_maps_explain_the_folds_average(tiny_run: Path) -> None:
    """The vanilla gradient of the mean score is the mean of the folds' gradients."""
    model = paw.load(tiny_run, runtime="eager")
    photo = load_image(PHOTO)
    both = model.explain(photo, "vanilla", size=(64, 64))
    x = model.explainer.tensor(photo)
    folds = [paw.load(tiny_run, runtime="eager", fold=k).explainer for k in (0, 1)]
    grads = [input_gradient(f.ctx.network, x, SCORE_COLUMN) for f in folds]
    expected = ((grads[0] + grads[1]) / 2).abs().amax(dim=1)[0]
    assert np.allclose(both, expected.numpy(), atol=1e-6)
    assert not np.allclose(both, grads[0].abs().amax(dim=1)[0].numpy(), atol=1e-6)


def test_one_fold_scores_and_explains_alone(tiny_run: Path) -> None:
    run = load_run(tiny_run, "eager")
    net = run.ensemble().members[1]
    one = paw.load(tiny_run, runtime="eager", fold=1)
    x = load_prepared(PHOTO, one.image_size)[None]
    with torch.no_grad():
        expected = float(net(x)[0][0])
    assert one.score(PHOTO)["score"][0] == pytest.approx(expected, abs=1e-4)
    assert paw.load(tiny_run, fold=0).score(PHOTO)["score"][0] != pytest.approx(expected, abs=1e-3)
    with pytest.raises(ConfigError, match="folds 0 to 1"):
        paw.load(tiny_run, fold=2)


def test_head_runs_explain_with_what_needs_no_gradients(tiny_head_run: Path) -> None:
    model = paw.load(tiny_head_run, runtime="eager")
    saliency = model.explain(PHOTO, "rise", masks=16)
    assert saliency.shape == load_image(PHOTO).size[::-1] and np.isfinite(saliency).all()
    with pytest.raises(ConfigError, match=r"gradcam needs a network.*use rise"):
        model.explain(PHOTO, "gradcam")
    with pytest.raises(ConfigError, match="ImageNet's classifier"):
        model.explain(PHOTO, "rise", target="pet")


def test_the_bare_backbone_explains_but_has_no_score() -> None:
    model = paw.load("imagenet", runtime="eager")
    assert model.kind == "imagenet" and model.explain(PHOTO).ndim == 2
    with pytest.raises(ConfigError, match="no trained score"):
        model.score(PHOTO)
    with pytest.raises(ConfigError, match="no trained score"):
        model.explain(PHOTO, target="score")


def test_score_takes_files_images_and_flags_and_reports_broken_ones(
    tiny_run: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a photo")
    model = paw.load(tiny_run)
    # A JPEG file decodes at a reduced scale when large (as `predict` does); decoded the same
    # way and handed over as an image, it scores the same.
    drafted = load_image(PHOTO, draft_size=(model.image_size, model.image_size))
    table = model.score([PHOTO, drafted, broken])
    assert table["path"].tolist() == [str(PHOTO), "<image 1>", str(broken)]
    assert model.score(Image.open(PHOTO))["path"][0] == str(PHOTO)  # an opened file's name
    grey = model.score(Image.open(PHOTO).convert("L"))
    assert grey["error"][0] == "" and 1 <= grey["score"][0] <= 100
    assert table["score"][0] == pytest.approx(table["score"][1], abs=1e-4)
    assert np.isnan(table["score"][2]) and "not an image" in table["error"][2]
    flags = np.zeros((1, 12))
    given = model.score(PHOTO, flags=flags)
    assert given["score"][0] != pytest.approx(table["score"][0], abs=1e-6)


def test_onnx_is_exported_only_for_a_method_that_needs_it(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAWPULARITY_CACHE", str(tmp_path))
    exports: list[object] = []
    real = torch.onnx.export
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: exports.append(a) or real(*a, **k))
    model = paw.load(tiny_run)
    model.score(PHOTO)
    model.explain(PHOTO, "gradcam")
    model.explain(PHOTO, "vanilla")
    assert exports == []
    model.explain(PHOTO, "rise", masks=8)
    model.explain(PHOTO, "rise", masks=8)
    assert len(exports) == 1  # once, then cached


def test_maps_are_right_while_another_thread_scores(tiny_run: Path) -> None:
    """The server scores on one thread while it draws maps on another, with the same modules:
    Grad-CAM's layer hooks must see only their own thread's forward passes."""
    model = paw.load(tiny_run, runtime="eager")
    photo = load_image(PHOTO)
    alone = model.explain(photo, "gradcam")
    stop = threading.Event()

    def keep_scoring() -> None:
        while not stop.is_set():
            model.score([photo] * 8)

    scorer = threading.Thread(target=keep_scoring)
    scorer.start()
    try:
        maps = [model.explain(photo, "gradcam") for _ in range(30)]
    finally:
        stop.set()
        scorer.join()
    assert all(np.allclose(m, alone, atol=1e-5) for m in maps)

"""`analyze --metadata-only`: exact flag effects from a Kaggle-sized train.csv, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from pawpularity.analysis.flags import COLUMNS
from pawpularity.analysis.metadata import analyze_metadata
from pawpularity.analysis.stats import adjust
from pawpularity.cli import app
from pawpularity.data.demo import FLAG_RATES
from pawpularity.data.schema import FLAGS, ID, TARGET
from pawpularity.errors import DataError
from pawpularity.runs.embedded import EMBEDDINGS, IDS, META, SPECIES

REQUIRED = {"id", "statement", "metric", "groups", "n", "effect", "ci_low", "ci_high"}
REQUIRED |= {"p_value", "p_adjusted", "verdict"}


def kaggle_like_csv(
    path: Path, n: int = 9912, seed: int = 0, blur: float = 5.0, dogs: np.ndarray | None = None
) -> pd.DataFrame:
    """A train.csv the size of the real one: flags at the real rates, Blur costs `blur` points,
    and where `dogs` (1 dog, 0 cat) is given, dogs score 7.5 more (the real table's gap)."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({ID: [f"{i:032x}" for i in range(n)]})
    for flag in FLAGS:
        table[flag] = (rng.random(n) < FLAG_RATES[flag]).astype(int)
    score = rng.normal(38, 20.6, n) - blur * table["Blur"] + (0 if dogs is None else 7.5 * dogs)
    table[TARGET] = np.clip(np.rint(score), 1, 100).astype(int)
    table.to_csv(path, index=False)
    return table


def test_flag_effects_are_exact(tmp_path: Path) -> None:
    table = kaggle_like_csv(tmp_path / "train.csv")
    summary = analyze_metadata(tmp_path / "train.csv", tmp_path / "out")
    effects = pd.read_csv(tmp_path / "out" / "flag_effects.csv")
    assert tuple(effects.columns) == COLUMNS and list(effects["flag"]) == list(FLAGS)
    for row in effects.itertuples(index=False):
        on = table[row.flag] == 1
        with_, without = table[TARGET][on], table[TARGET][~on]
        assert row.n_with == on.sum() and row.n_without == (~on).sum()
        assert row.diff == pytest.approx(with_.mean() - without.mean(), abs=1e-9)
        ci = stats.ttest_ind(with_, without, equal_var=False).confidence_interval()
        assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    blur = effects.set_index("flag").loc["Blur"]
    assert blur.ci_low < -5 < blur.ci_high  # covers the planted effect

    rows = json.loads((tmp_path / "out" / "hypotheses.json").read_text())
    assert all(set(r) >= REQUIRED for r in rows) and len(rows) == len(FLAGS)
    verdicts = {r["id"]: r["verdict"] for r in rows}
    assert verdicts["H4-Blur"] in ("supported", "small")
    assert summary["verdicts"].get("supported", 0) + summary["verdicts"].get("small", 0) >= 1
    guidelines = (tmp_path / "out" / "guidelines.md").read_text()
    assert "Avoid a blurry or noisy photo" in guidelines and "95 % CI" in guidelines
    html = (tmp_path / "out" / "report.html").read_text()
    # the score distribution, and the forest plot in its section and in H4's
    assert html.count("data:image/png;base64,") == 3


def test_a_small_real_flag_effect_is_judged_on_its_own_interval(tmp_path: Path) -> None:
    """The real table's Blur: about 2 points, CI clear of 0, p < 0.05 but not below 0.05 once
    adjusted over the 12 flags. Its verdict follows the interval the forest plot shows."""
    kaggle_like_csv(tmp_path / "train.csv", seed=1, blur=1.9)
    analyze_metadata(tmp_path / "train.csv", tmp_path / "out")
    effects = pd.read_csv(tmp_path / "out" / "flag_effects.csv").set_index("flag")
    blur = effects.loc["Blur"]
    assert blur.ci_high < 0 and blur.p_value < 0.05  # the situation, and (below) not
    assert adjust(effects["p_value"].tolist())[FLAGS.index("Blur")] > 0.05  # significant by BH
    rows = {r["id"]: r for r in json.loads((tmp_path / "out" / "hypotheses.json").read_text())}
    assert rows["H4-Blur"]["verdict"] == "small"
    assert all(r["p_adjusted"] == r["p_value"] for r in rows.values())
    guidelines = (tmp_path / "out" / "guidelines.md").read_text()
    assert f"about {-blur['diff']:.1f} points lower on average, small but real" in guidelines
    assert "p 0.0" in guidelines and "p_adj" not in guidelines.split("## Where")[0]


def fake_embeddings(path: Path, ids: list[str], p_dog: np.ndarray | None) -> Path:
    """An `embed` folder's files as `embed` writes them (2 features; species if `p_dog`)."""
    path.mkdir()
    np.save(path / EMBEDDINGS, np.zeros((len(ids), 2), np.float32))
    pd.DataFrame({ID: ids, "path": "", "error": ""}).to_csv(path / IDS, index=False)
    if p_dog is not None:
        np.save(path / SPECIES, p_dog.astype(np.float32))
    meta = {"backbone": "resnet18", "dim": 2, "n": len(ids), "species": p_dog is not None}
    (path / META).write_text(json.dumps(meta))
    return path


def test_species_hypothesis_from_an_embed_folder(tmp_path: Path) -> None:
    n = 9912
    p_dog = np.random.default_rng(3).random(n)
    table = kaggle_like_csv(tmp_path / "train.csv", n=n, dogs=(p_dog >= 0.5).astype(float))
    # the folder misses the last 100 photos: they are left out, not counted as cats
    emb = fake_embeddings(tmp_path / "emb", list(table[ID][:-100]), p_dog[:-100])
    analyze_metadata(tmp_path / "train.csv", tmp_path / "out", emb)
    row = next(
        r
        for r in json.loads((tmp_path / "out" / "hypotheses.json").read_text())
        if r["id"] == "H6-species"
    )
    dogs = (p_dog >= 0.5)[:-100]
    score = table[TARGET].to_numpy(float)[:-100]
    assert row["n_groups"] == [dogs.sum(), (~dogs).sum()]
    assert row["effect"] == pytest.approx(score[dogs].mean() - score[~dogs].mean(), abs=1e-9)
    assert row["ci_low"] < 7.5 < row["ci_high"] and row["verdict"] == "small"
    guidelines = (tmp_path / "out" / "guidelines.md").read_text()
    assert f"Dogs score about {row['effect']:.1f} points higher than cats" in guidelines
    assert "H6 · species" in (tmp_path / "out" / "report.html").read_text()


def test_species_needs_an_imagenet_head_and_the_same_photos(tmp_path: Path) -> None:
    table = kaggle_like_csv(tmp_path / "train.csv", n=50)
    ids = list(table[ID])
    with pytest.raises(DataError, match=r"no species.npy.*ImageNet's classifier"):
        analyze_metadata(
            tmp_path / "train.csv", tmp_path / "o", fake_embeddings(tmp_path / "a", ids, None)
        )
    other = fake_embeddings(tmp_path / "b", [f"x{i}" for i in range(50)], np.ones(50))
    with pytest.raises(DataError, match="species of none of the 50 photos"):
        analyze_metadata(tmp_path / "train.csv", tmp_path / "o", other)
    assert not (tmp_path / "o").exists()


def test_cli_species_from_a_real_embed_folder(
    tiny_demo: Path, tiny_embeddings: Path, tmp_path: Path
) -> None:
    args = ["analyze", "--metadata-only", str(tiny_demo / "train.csv"), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--embeddings", str(tiny_embeddings)])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "hypotheses.json").read_text())[-1]
    assert row["id"] == "H6-species" and row["n"] == 16


def test_cli_metadata_only(tmp_path: Path) -> None:
    kaggle_like_csv(tmp_path / "train.csv", n=300)
    result = CliRunner().invoke(
        app, ["analyze", "--metadata-only", str(tmp_path / "train.csv"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and (tmp_path / "report.html").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["--metadata-only", "train.csv", "some-run"],  # both ways at once
        ["some-run"],  # DATA missing
    ],
)
def test_cli_refuses_mixed_arguments(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["analyze", *args, "--out", str(tmp_path)])
    assert result.exit_code != 0 and result.exception is not None


def test_missing_and_malformed_csv(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        analyze_metadata(tmp_path / "nope.csv", tmp_path / "out")
    table = kaggle_like_csv(tmp_path / "train.csv", n=50)
    table.drop(columns=["Blur"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="missing columns: Blur"):
        analyze_metadata(tmp_path / "bad.csv", tmp_path / "out")
    assert not (tmp_path / "out" / "report.html").exists()

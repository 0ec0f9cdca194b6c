"""`pawpularity advise` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pawpularity.advise.tips import MIN_AUC
from pawpularity.cli import app
from tests.advise.test_tips import write_effects
from tests.conftest import PETS


def test_advise_with_evidence(tiny_run: Path, tmp_path: Path) -> None:
    evidence = write_effects(tmp_path / "analysis")
    out = tmp_path / "advice"
    args = ["advise", str(tiny_run), str(PETS / "dog_pug_16.jpg"), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--evidence", str(evidence), "--runtime", "eager"])
    assert result.exit_code == 0, result.output
    assert "1 advised, 0 failed" in result.output
    advice = json.loads((out / "advice.json").read_text())
    cited = {t["flag"] for t in advice["tips"] if t["evidence"]}
    assert cited == {t["flag"] for t in advice["tips"]} & {"Blur", "Human"}  # Eyes: not backed
    assert all(
        t["evidence"]["text"].startswith("The data back") for t in advice["tips"] if t["evidence"]
    )
    # the tiny run's head has random weights: no flag it predicts can be trusted, none tips
    auc = json.loads((tiny_run / "metrics.json").read_text())["flag_auc"]
    untold = {f for f, a in auc.items() if a is None or a < MIN_AUC}
    dropped = {d["flag"] for d in advice["dropped_tips"] if "cannot tell" in d["reason"]}
    assert untold and not untold & {t["flag"] for t in advice["tips"]}
    assert dropped <= untold
    assert (out / "best.jpg").is_file() and (out / "compare.png").is_file()


def test_bad_evidence_is_one_line_and_exit_1(tiny_run: Path, tmp_path: Path) -> None:
    args = ["advise", str(tiny_run), str(PETS / "dog_pug_16.jpg"), "--out", str(tmp_path / "out")]
    bad = subprocess.run(
        [sys.executable, "-m", "pawpularity", *args, "--evidence", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ") and bad.stderr.strip().count("\n") == 0
    assert "nowhere: not found" in bad.stderr and "pawpularity analyze" in bad.stderr

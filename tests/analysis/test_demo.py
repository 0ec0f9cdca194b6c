"""`pawpularity demo`: data, training, analysis and report in one command (a small set here)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pawpularity.cli import app


def test_demo_command_writes_the_report_and_keeps_its_run(tmp_path: Path) -> None:
    args = ["demo", "--out", str(tmp_path), "--n", "16", "--methods", "gradcam"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = tmp_path / "analysis" / "report.html"
    assert f"report: {report}" in result.output and report.is_file()
    for name in ("data/cues.csv", "run/oof.csv", "analysis/hypotheses.json"):
        assert (tmp_path / name).is_file()
    weights = tmp_path / "run" / "fold0" / "model.safetensors"
    trained = weights.stat().st_mtime_ns
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert weights.stat().st_mtime_ns == trained  # the finished run was kept, not retrained

"""The command line: help on every command, the version, `python -m`, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pawpularity import __version__
from pawpularity.cli import app


def command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(cmd: object, prefix: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():  # a group's subcommands
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_commands_of_the_contract_exist() -> None:
    paths = {" ".join(p) for p in command_paths()}
    assert {"data check", "data download", "data demo", "train", "predict"} <= paths


def test_version() -> None:
    assert CliRunner().invoke(app, ["--version"]).output.strip() == f"pawpularity {__version__}"


def test_python_m_and_one_line_errors(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "pawpularity", "--help"], capture_output=True)
    assert ok.returncode == 0
    bad = subprocess.run(
        [sys.executable, "-m", "pawpularity", "predict", str(tmp_path / "no-run"), "x.jpg"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and bad.stderr.startswith("error: ")

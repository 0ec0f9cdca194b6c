"""Hostile files, names and folders through the real entry point: nothing read or written outside
the folders named, no hang, no batch aborted by one file, one `error:` line for what a user can
cause."""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pawpularity.cli import describe_os_error, main
from tests.conftest import PETS

Cli = Callable[..., tuple[int, str]]
FAST = ["--runtime", "eager"]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `pawpularity ARGS` in this process as a user would: (exit code, stderr)."""

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["pawpularity", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        return int(exited.value.code or 0), capsys.readouterr().err

    return run


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture
def escaping_demo(tiny_demo: Path, tmp_path: Path) -> Path:
    """A copy of the tiny demo whose first Id climbs out of train/ to a real photo."""
    data = tmp_path / "data"
    shutil.copytree(tiny_demo, data)
    (tmp_path / "outside").mkdir()
    shutil.copy(PETS / "cat_Bengal_16.jpg", tmp_path / "outside" / "cat.jpg")
    table = pd.read_csv(data / "train.csv", dtype=str)
    table.loc[0, "Id"] = "../../outside/cat"
    table.to_csv(data / "train.csv", index=False)
    return data


def test_ids_with_path_characters_are_refused_before_anything(
    cli: Cli, escaping_demo: Path, tiny_run: Path, tmp_path: Path
) -> None:
    commands = {
        "train": ["train", escaping_demo, "--out", tmp_path / "run", "--folds", "2"],
        "predict": ["predict", tiny_run, escaping_demo / "train.csv", "--out", tmp_path / "p.csv"],
        "analyze": ["analyze", tiny_run, escaping_demo, "--out", tmp_path / "analysis", *FAST],
        "embed": ["embed", escaping_demo, "--out", tmp_path / "emb", *FAST],
    }
    for name, args in commands.items():
        code, err = cli(*args)
        assert code == 1, name
        assert "not plain file names" in one_error_line(err), name
    for written in ("run", "p.csv", "analysis", "emb"):
        assert not (tmp_path / written).exists(), written
    assert cli("data", "check", escaping_demo)[0] == 1


@pytest.mark.parametrize("command", ["explain", "advise"])
def test_photo_names_never_lead_outside_out(
    cli: Cli, tiny_run: Path, tmp_path: Path, command: str
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("...jpg", "..jpg", "summary.json.jpg", ".hidden.jpg"):
        shutil.copy(PETS / "dog_pug_16.jpg", photos / name)
    out = tmp_path / "deep" / "out"
    extra = ["--methods", "gradcam"] if command == "explain" else []
    code, err = cli(command, tiny_run, photos, "--out", out, *extra, *FAST)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["out"]  # nothing beside
    summary = json.loads((out / "summary.json").read_text())
    key = "images" if command == "explain" else "photos"
    assert len(summary[key]) == 4 and all("error" not in v for v in summary[key].values())
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 4 and all(f.name not in ("", ".", "..") for f in folders)
    assert all(f.resolve().parent == out.resolve() for f in folders)


@pytest.mark.parametrize("command", ["predict", "explain", "advise", "embed"])
def test_a_pipe_among_the_photos_does_not_hang_the_others(
    tiny_run: Path, tmp_path: Path, command: str
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PETS / "dog_pug_16.jpg", photos / "pug.jpg")
    os.mkfifo(photos / "stream.jpg")  # reading it would block forever
    out = tmp_path / ("out.csv" if command == "predict" else "out")
    args = {
        "predict": ["predict", tiny_run, photos, "--out", out, "--workers", "0"],
        "explain": ["explain", tiny_run, photos, "--out", out, "--methods", "gradcam", *FAST],
        "advise": ["advise", tiny_run, photos, "--out", out, *FAST],
        "embed": ["embed", photos, "--out", out, "--image-size", "64", "--pretrained", "none"],
    }[command]
    result = subprocess.run(
        [sys.executable, "-m", "pawpularity", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 2, result.stderr  # one photo failed, the other was done
    assert "not a regular file" in (out.read_text() if command == "predict" else _errors(out))


def _errors(out: Path) -> str:
    if (out / "ids.csv").is_file():
        return (out / "ids.csv").read_text()
    return (out / "summary.json").read_text()


EXTREME = [(65536, 1), (4_000_000, 16), (1, 64_000_000)]


@pytest.fixture(scope="module")
def strips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid photos of extreme aspect ratios (flat colour: small files, up to 64 MP)."""
    folder = tmp_path_factory.mktemp("strips")
    for w, h in EXTREME:
        Image.new("RGB", (w, h), (120, 100, 80)).save(folder / f"strip_{w}x{h}.png")
    return folder


def test_extreme_aspect_ratios_through_every_command(
    cli: Cli, tiny_run: Path, strips: Path, tmp_path: Path
) -> None:
    n = len(EXTREME)
    code, err = cli("predict", tiny_run, strips, "--out", tmp_path / "p.csv", "--workers", "0")
    assert code == 0, err
    assert (pd.read_csv(tmp_path / "p.csv", keep_default_na=False)["error"] == "").all()
    explained = tmp_path / "maps"
    code, err = cli("explain", tiny_run, strips, "--out", explained, "--methods", "gradcam", *FAST)
    assert code == 0, err
    summary = json.loads((explained / "summary.json").read_text())
    for entry in summary["images"].values():
        h, w = np.load(explained / entry["out"] / "gradcam.npy").shape
        assert [w, h] == entry["map_size"] and max(w, h) <= 2048  # bounded, photo's shape
    code, err = cli("advise", tiny_run, strips, "--out", tmp_path / "advice", *FAST)
    assert code == 0, err
    advice = json.loads((tmp_path / "advice" / "summary.json").read_text())
    assert advice["advised"] == n
    code, err = cli("embed", strips, "--out", tmp_path / "emb", "--image-size", "64", *FAST)
    assert code == 0, err


def test_unwritable_outputs_are_one_line_errors(cli: Cli, tiny_run: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    photo = PETS / "dog_pug_16.jpg"
    cases = [
        ["explain", tiny_run, photo, "--out", a_file / "maps", "--methods", "gradcam", *FAST],
        ["advise", tiny_run, photo, "--out", a_file / "advice", *FAST],
        ["predict", tiny_run, photo, "--out", a_file / "p.csv"],
        ["data", "demo", a_file / "demo", "--n", "4"],
        ["embed", PETS, "--out", a_file / "emb", *FAST],
        ["explain", tiny_run, photo, "--out", "/proc/pawpularity", "--methods", "gradcam", *FAST],
        ["predict", tiny_run, photo, "--out", "/dev/full", "--overwrite"],  # a full disk
    ]
    for args in cases:
        code, err = cli(*args)
        assert code == 1, args
        one_error_line(err)
    assert "No space left" in one_error_line(cli(*cases[-1])[1])


def test_os_errors_read_as_one_line_with_a_way_out() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/data/out.csv")
    assert describe_os_error(full) == (
        "/data/out.csv: No space left on device; free some disk space and run the command "
        "again (--resume where it has it)"
    )
    assert "a part of that path is a file" in describe_os_error(
        NotADirectoryError(errno.ENOTDIR, "Not a directory", "/x/y")
    )


def test_serve_results_that_is_a_file(cli: Cli, tiny_run: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "results"
    a_file.write_text("x")
    code, err = cli("serve", tiny_run, "--results", a_file, "--port", "1")
    assert code == 1 and "is a file" in one_error_line(err)


class Payload:
    """What a malicious pickle does when it is loaded: it runs code (here: writes a file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.write_text, (self.marker, "pwned"))


def test_checkpoints_and_weights_that_are_no_tensors_are_refused_unrun(
    cli: Cli, tiny_demo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    bad = tmp_path / "weights.pth"
    bad.write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
    code, err = cli("train", tiny_demo, "--out", tmp_path / "r1", "--weights", bad, "--folds", "2")
    line = one_error_line(err)
    assert code == 1 and "never unpickled" in line and "weights_only" not in line
    run = tmp_path / "run"
    args = ["train", tiny_demo, "--out", run, "--folds", "2", "--epochs", "1", "--pretrained"]
    args += ["none", "--image-size", "64", "--batch-size", "4"]
    assert cli(*args)[0] == 0
    for fold in ("fold0", "fold1"):
        (run / fold / "predictions.csv").unlink()
    (run / "fold1" / "last.ckpt").write_bytes(pickle.dumps(Payload(marker)))
    (run / "fold0" / "last.ckpt").write_bytes(b"\x80\x04truncated")
    code, err = cli(*args, "--resume")
    assert code == 1 and "not a checkpoint this run wrote" in one_error_line(err)
    assert not marker.exists()  # nothing in either file was run


def test_serve_on_a_taken_port_fails_before_loading_anything(cli: Cli, tmp_path: Path) -> None:
    from pawpularity.serve.guards import bind

    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        code, err = cli("serve", tmp_path / "no-such-run", "--port", port)
    finally:
        taken.close()
    assert code == 1 and f"port {port} on 127.0.0.1 is in use" in one_error_line(err)

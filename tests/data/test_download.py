"""`pawpularity data download`: one clear line on every failure, never kaggle's own chatter."""

from __future__ import annotations

import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest
import requests

from pawpularity.data.download import COMPETITION, RULES_URL, download_competition
from pawpularity.errors import DataError


def test_no_credentials_gives_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    (tmp_path / "home").mkdir()
    (tmp_path / "kaggle-config").mkdir()
    env |= {"HOME": str(tmp_path / "home"), "KAGGLE_CONFIG_DIR": str(tmp_path / "kaggle-config")}
    env.pop("XDG_CONFIG_HOME", None)
    target = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "pawpularity", "data", "download", str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "kaggle.json" in lines[0]
    assert not target.exists()


class _FakeApi:
    """Stands in for kaggle's KaggleApi: `action` decides what authenticate/download do."""

    action = "ok"

    def authenticate(self) -> None:
        if _FakeApi.action == "no-credentials":
            print("Authentication required to call the Kaggle API.\nlots of help text")
            raise SystemExit(1)

    def competition_download_files(self, competition: str, path: str, quiet: bool) -> None:
        response = requests.Response()
        response.status_code = {"forbidden": 403, "unauthorized": 401}.get(_FakeApi.action, 200)
        if response.status_code != 200:
            raise requests.HTTPError("denied", response=response)
        if _FakeApi.action == "offline":
            raise requests.ConnectionError("Name or service not known")
        Path(path).mkdir(parents=True, exist_ok=True)  # as kaggle does
        archive = Path(path) / f"{competition}.zip"
        if _FakeApi.action == "bad-zip":
            archive.write_bytes(b"not a zip")
            return
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("train.csv", "Id\n")
            z.writestr("test.csv", "Id\n")
            z.writestr("train/a.jpg", b"jpeg")


@pytest.fixture
def fake_kaggle(monkeypatch: pytest.MonkeyPatch) -> type[_FakeApi]:
    module = types.ModuleType("kaggle.api.kaggle_api_extended")
    module.KaggleApi = _FakeApi  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", module)
    monkeypatch.setattr(_FakeApi, "action", "ok")
    return _FakeApi


def test_download_unzips_and_removes_the_zip(fake_kaggle: type[_FakeApi], tmp_path: Path) -> None:
    target = tmp_path / "new" / "data"
    download_competition(target)
    assert sorted(p.name for p in target.iterdir()) == ["test.csv", "train", "train.csv"]
    assert (target / "train" / "a.jpg").is_file()
    assert not (target / f"{COMPETITION}.zip").exists()


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("no-credentials", "kaggle.json"),
        ("unauthorized", "HTTP 401.*kaggle.json"),
        ("forbidden", f"HTTP 403.*accept the competition rules at {RULES_URL}"),
        ("offline", "could not reach Kaggle.*network"),
        ("bad-zip", "not a valid zip file"),
    ],
)
def test_failures_are_one_line_data_errors(
    fake_kaggle: type[_FakeApi],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    action: str,
    expected: str,
) -> None:
    fake_kaggle.action = action
    with pytest.raises(DataError, match=expected) as err:
        download_competition(tmp_path)
    assert "\n" not in str(err.value)
    assert capsys.readouterr().out == ""  # kaggle's help text does not leak
    assert not (tmp_path / f"{COMPETITION}.zip").exists()

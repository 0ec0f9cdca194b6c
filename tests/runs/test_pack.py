"""`pawpularity pack`: a trained run in one file, loaded like its folder, and refused when
tampered with."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import pawpularity as paw
from pawpularity.analysis.analyze import analyze
from pawpularity.analysis.config import AnalyzeConfig
from pawpularity.api import Model
from pawpularity.cli import main
from pawpularity.errors import ConfigError, RunError
from pawpularity.explain.methods import GradCam
from pawpularity.runs import pack
from pawpularity.runs.pack import CARD, MANIFEST, pack_run
from pawpularity.runs.run import load_run
from pawpularity.serve.app import create_app
from tests.conftest import PETS

PHOTOS = sorted(PETS.glob("*.jpg"))[:3]
Cli = Callable[..., tuple[int, str]]
Members = dict[str, bytes]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test unpacks into a cache of its own (PAWPULARITY_CACHE)."""
    monkeypatch.setenv("PAWPULARITY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def packed(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("paw") / "tiny.paw"
    pack_run(load_run(tiny_run, "auto"), out)
    return out


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `pawpularity ARGS` in this process as a user would: (exit code, stdout + stderr)."""

    def run(*args: str | Path) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["pawpularity", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        out = capsys.readouterr()
        return int(exited.value.code or 0), out.out + out.err

    return run


def members(paw_file: Path) -> Members:
    with zipfile.ZipFile(paw_file) as z:
        return {name: z.read(name) for name in z.namelist()}


def write_zip(path: Path, files: Members, manifest: bool = True) -> Path:
    """`files` as a zip; with `manifest`, manifest.json lists them all (a consistent forgery,
    so that only the check under test can refuse it)."""
    files = dict(files)
    if manifest:
        listed = json.loads(files[MANIFEST])
        listed["members"] = {
            n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
            for n, b in files.items()
            if n != MANIFEST
        }
        files[MANIFEST] = json.dumps(listed).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def refusal(path: Path | str) -> str:
    """The one-line error loading `path` raises."""
    with pytest.raises(RunError) as e:
        paw.load(path, runtime="eager", device="cpu")
    assert "\n" not in str(e.value)
    return str(e.value)


def test_the_pack_holds_the_run_and_scores_as_its_folder(
    packed: Path, tiny_run: Path, tiny_model: Model, private_cache: Path
) -> None:
    files = members(packed)
    manifest = json.loads(files[MANIFEST])
    assert set(manifest["members"]) == set(files) - {MANIFEST}
    for name, entry in manifest["members"].items():
        assert hashlib.sha256(files[name]).hexdigest() == entry["sha256"], name
    assert {"config.json", "metrics.json", "oof.csv", CARD} <= set(files)
    assert {"fold0/model.safetensors", "fold1/model.safetensors"} <= set(files)
    assert files["oof.csv"] == (tiny_run / "oof.csv").read_bytes()
    card = files[CARD].decode()
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    for said in (
        f"{metrics['cv_rmse']:.2f} against {metrics['baseline_rmse']:.2f}",
        "tf_efficientnet_lite0",
        "CC BY-SA 4.0",
        "demo set",
        "16 photos",
    ):
        assert said in card, said

    model = paw.load(packed, runtime="eager", device="cpu")
    pd.testing.assert_frame_equal(model.score(PHOTOS), tiny_model.score(PHOTOS))
    assert model.warning == tiny_model.warning
    assert model.run is not None
    folder = model.run.path
    assert folder.is_relative_to(private_cache) and folder.name == tiny_run.name
    assert (private_cache / "packs").stat().st_mode & 0o077 == 0  # this user's alone
    weights = folder / "fold0" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert load_run(packed, "eager").path == folder  # reused
    assert weights.stat().st_mtime_ns == stamp
    weights.write_bytes(b"damaged")  # a damaged cache is unpacked again, not trusted
    again = paw.load(packed, runtime="eager", device="cpu")
    pd.testing.assert_frame_equal(again.score(PHOTOS), tiny_model.score(PHOTOS))


def test_a_head_run_packs(tiny_head_run: Path, tmp_path: Path) -> None:
    paw_file = tmp_path / "head.paw"
    pack_run(load_run(tiny_head_run, "auto"), paw_file)
    assert "fold0/head.safetensors" in members(paw_file)
    card = members(paw_file)[CARD].decode()
    assert "ridge head" in card and 'pawpularity.load("head.paw")' in card
    want = paw.load(tiny_head_run, runtime="eager", device="cpu").score(PHOTOS)
    got = paw.load(paw_file, runtime="eager", device="cpu").score(PHOTOS)
    pd.testing.assert_frame_equal(got, want)


def test_pack_export_carries_the_onnx_graph(tiny_run: Path, tmp_path: Path, cli: Cli) -> None:
    run = shutil.copytree(tiny_run, tmp_path / "run")
    code, out = cli("pack", run, "--out", tmp_path / "x.paw", "--export")
    assert code == 0 and "packed" in out, out
    assert {"model.onnx", "model.onnx.json"} <= set(members(tmp_path / "x.paw"))
    assert "ONNX graphs included" in members(tmp_path / "x.paw")[CARD].decode()
    ort = paw.load(tmp_path / "x.paw", runtime="ort", device="cpu")
    eager = paw.load(tiny_run, runtime="eager", device="cpu")
    assert ort.run is not None and ort.run.runtime == "ort"
    gap = (ort.score(PHOTOS).score - eager.score(PHOTOS).score).abs().max()
    assert gap < 1e-2


def test_predict_advise_and_serve_take_the_pack(
    packed: Path, tiny_run: Path, tiny_model: Model, tmp_path: Path, cli: Cli
) -> None:
    for run, out in ((tiny_run, "folder.csv"), (packed, "paw.csv")):
        code, said = cli("predict", run, *PHOTOS, "--out", tmp_path / out, "--runtime", "eager")
        assert code == 0, said
    assert "split-conformal" in said
    paw_rows, folder_rows = (pd.read_csv(tmp_path / f) for f in ("paw.csv", "folder.csv"))
    pd.testing.assert_frame_equal(paw_rows, folder_rows)

    code, said = cli(
        "advise", packed, PHOTOS[0], "--out", tmp_path / "advice", "--runtime", "eager"
    )
    assert code == 0 and "1 advised" in said, said
    assert "warning: trained on the planted-cue demo set" in said  # read from the pack
    assert (tmp_path / "advice" / "advice.json").is_file()

    photo = {"file": (PHOTOS[0].name, PHOTOS[0].read_bytes(), "image/jpeg")}
    answers = []
    for model in (paw.load(packed, runtime="eager", device="cpu"), tiny_model):
        client = TestClient(create_app(model, tmp_path / "results"))
        assert client.get("/health").json()["run"] == tiny_run.name
        answer = client.post("/api/score", files=photo).json()
        answers.append({k: v for k, v in answer.items() if k != "seconds"})
    assert answers[0] == answers[1] and answers[0]["score"]


def test_analyze_and_rank_take_the_pack(
    packed: Path, tiny_run: Path, tiny_demo: Path, tmp_path: Path, cli: Cli
) -> None:
    config = AnalyzeConfig(methods=(GradCam(),), max_images=4, examples=1)
    summary = analyze(packed, tiny_demo, tmp_path / "analysis", config)
    assert summary["explained"] == 4
    shelter = tmp_path / "shelter" / "rex"
    shelter.mkdir(parents=True)
    for p in PHOTOS[:2]:
        shutil.copy(p, shelter / p.name)
    for run, out in ((tiny_run, "folder"), (packed, "paw")):
        code, said = cli("rank", run, shelter.parent, "--out", tmp_path / out, "--runtime", "eager")
        assert code == 0, said
    ranked = [pd.read_csv(tmp_path / out / "ranking.csv") for out in ("folder", "paw")]
    pd.testing.assert_frame_equal(*ranked)


def tampered(files: Members) -> Iterator[tuple[str, Members, bool, str]]:
    """(case, members, manifest rewritten to match, what the refusal says)."""
    weights = "fold0/model.safetensors"
    flipped = bytearray(files[weights])
    flipped[len(flipped) // 2] ^= 0xFF
    yield "changed weights", {**files, weights: bytes(flipped)}, False, "sha256"
    yield "extra member", {**files, "fold0/extra.json": b"{}"}, False, "not in its manifest"
    gone = {n: b for n, b in files.items() if n != "oof.csv"}
    yield "missing member", gone, False, "oof.csv of its manifest is missing"
    yield "climbs out", {**files, "../x.json": b"{}"}, True, "outside its folder"
    yield "absolute", {**files, "/tmp/x.json": b"{}"}, True, "outside its folder"
    yield "dot-dot inside", {**files, "fold0/../../x.csv": b""}, True, "outside its folder"
    yield "pickle", {**files, "fold0/model.pt": b"\x80\x04K\x01."}, True, "pickle-format"
    yield "no manifest", {n: b for n, b in files.items() if n != MANIFEST}, False, "no manifest"
    yield "bad manifest", {**files, MANIFEST: b"[1, 2"}, False, "not a pack manifest"


def test_a_tampered_pack_is_refused_in_one_line(
    packed: Path, tmp_path: Path, private_cache: Path
) -> None:
    files = members(packed)
    for case, changed, consistent, says in tampered(files):
        bad = write_zip(tmp_path / f"{case}.paw", changed, manifest=consistent)
        assert says in refusal(bad), case
    assert not (tmp_path.parent / "x.json").exists() and not Path("/tmp/x.json").exists()
    assert not [p for p in (private_cache / "packs").iterdir()]  # nothing left unpacked


def test_links_sizes_and_non_zips_are_refused(
    packed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = members(packed)
    link = tmp_path / "link.paw"
    shutil.copy(packed, link)
    with zipfile.ZipFile(link, "a") as z:
        info = zipfile.ZipInfo("fold0/link.json")
        info.external_attr = (0o120777 << 16) | 0x20  # a symlink, as `zip --symlinks` stores it
        z.writestr(info, "/etc/passwd")
    assert "a link or folder" in refusal(link)

    lying = tmp_path / "lying.paw"  # the manifest's size differs from the zip's
    listed = json.loads(files[MANIFEST])
    listed["members"]["oof.csv"]["size"] += 1
    write_zip(lying, {**files, MANIFEST: json.dumps(listed).encode()}, manifest=False)
    assert "another size" in refusal(lying)

    bomb = write_zip(tmp_path / "bomb.paw", {**files, "zeros.csv": bytes(1 << 24)})
    assert bomb.stat().st_size < packed.stat().st_size + (1 << 20)  # 16 MB of zeros, deflated
    real = sum(m["size"] for m in json.loads(files[MANIFEST])["members"].values())
    monkeypatch.setattr(pack, "MAX_UNPACKED", real + (1 << 20))  # a limit the real pack fits
    paw.load(packed, runtime="eager", device="cpu")
    assert "more than" in refusal(bomb)

    jpeg = tmp_path / "photo.paw"
    shutil.copy(PHOTOS[0], jpeg)
    assert "not a packed model" in refusal(jpeg)
    (tmp_path / "empty.paw").write_bytes(b"")
    assert "not a packed model" in refusal(tmp_path / "empty.paw")


def test_the_cli_says_one_error_line(packed: Path, tmp_path: Path, cli: Cli) -> None:
    bad = write_zip(tmp_path / "bad.paw", {**members(packed), "../evil.json": b"{}"})
    code, said = cli("predict", bad, PHOTOS[0], "--out", tmp_path / "p.csv")
    assert code == 1 and said.startswith("error: ") and said.count("\n") == 1, said
    assert "outside its folder" in said and not (tmp_path / "p.csv").exists()


def test_pack_refuses_what_it_cannot_pack(
    tiny_run: Path, tiny_head_run: Path, tmp_path: Path, cli: Cli
) -> None:
    code, said = cli("pack", tiny_run, "--out", tmp_path / "model.zip")
    assert code == 1 and "ends in .paw" in said
    code, said = cli("pack", tiny_run)
    assert code == 1 and "--out NAME.paw" in said
    code, said = cli("pack", tmp_path / "nowhere", "--out", tmp_path / "x.paw")
    assert code == 1 and "no such run folder" in said
    blend = tmp_path / "blend"
    code, said = cli("blend", tiny_run, tiny_head_run, "--out", blend)
    assert code == 0, said
    code, said = cli("pack", blend, "--out", tmp_path / "b.paw")  # its runs are packed one by one
    assert code == 1 and "is a blend" in said, said


def hub_cache(root: Path, paw_file: Path, repo: str = "shelter/tiny") -> Path:
    """HF_HUB_CACHE laid out as huggingface_hub keeps a downloaded file."""
    user, name = repo.split("/")
    commit = "0" * 40
    snapshot = root / f"models--{user}--{name}" / "snapshots" / commit
    snapshot.mkdir(parents=True)
    shutil.copy(paw_file, snapshot / f"{name}.paw")
    (root / f"models--{user}--{name}" / "refs").mkdir()
    (root / f"models--{user}--{name}" / "refs" / "main").write_text(commit)
    return root


def test_the_hub_offline(packed: Path, tiny_model: Model, tmp_path: Path) -> None:
    hub = hub_cache(tmp_path / "hub", packed)
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub)}
    script = (
        "import sys, pawpularity as paw\n"
        "for run in ('hf://shelter/tiny', 'hf:/shelter/tiny'):\n"
        "    m = paw.load(run, runtime='eager', device='cpu')\n"
        "    print(m.score(sys.argv[1:]).score.round(6).tolist())\n"
        "try:\n"
        "    paw.load('hf://shelter/other')\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    args = [sys.executable, "-c", script, *map(str, PHOTOS)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    want = str(tiny_model.score(PHOTOS).score.round(6).tolist())
    assert lines[:2] == [want, want]
    assert lines[2].startswith("RunError hf://shelter/other: cannot get other.paw")

    args = [sys.executable, "-m", "pawpularity", "predict", "hf://shelter/tiny", str(PHOTOS[0])]
    out = tmp_path / "p.csv"
    done = subprocess.run([*args, "--out", str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    scores = tiny_model.score(PHOTOS[0]).score.tolist()
    assert pd.read_csv(out).score.tolist() == pytest.approx(scores, abs=1e-3)  # as the CSV rounds


def test_push_offline_and_without_the_extra(
    packed: Path, tiny_run: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    code, said = cli("pack", tiny_run, "--out", tmp_path / "t.paw", "--push", "shelter/tiny")
    assert code == 1 and said.count("error: ") == 1 and "upload failed" in said, said
    assert (tmp_path / "t.paw").is_file()  # packed before the upload failed
    code, said = cli("pack", tiny_run, "--push", "not-a-repo")
    assert code == 1 and "USER/NAME" in said

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'pawpularity\[hub\]'"):
        paw.load("hf://shelter/tiny")
    code, said = cli("pack", tiny_run, "--push", "shelter/tiny")
    assert code == 1 and said.startswith("error: ") and "pip install 'pawpularity[hub]'" in said
    code, said = cli("predict", "hf://shelter/tiny", PHOTOS[0], "--out", tmp_path / "p.csv")
    assert code == 1 and "pip install 'pawpularity[hub]'" in said

"""A trained run in one file: `pack_run(load_run(RUN), NAME.paw)`, and `resolve_run`, back.

A .paw is a zip holding the run's files as they are in its folder (config.json, metrics.json,
oof.csv for the intervals, every fold's safetensors weights or heads, fresh ONNX graphs), a model
card (card.md) and manifest.json, which lists every other member with its size and sha256.

`resolve_run` turns what a user gives as RUN into a run folder: a folder stays as it is; a .paw
is checked member by member and unpacked into a private cache folder keyed by the file's sha256
(reused, after checking it again, on the next load); hf://USER/NAME is first downloaded from the
Hugging Face Hub (`pip install 'pawpularity[hub]'`). Nothing in a .paw is ever unpickled: members
with a pickle format's suffix are refused, and so is any file that does not match its manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pawpularity.errors import ConfigError, RunError
from pawpularity.files import atomic, plain_name, read_json, to_json
from pawpularity.models.onnx import cache_dir
from pawpularity.runs.config import INTERVAL, METRICS
from pawpularity.runs.graphs import graph_files
from pawpularity.runs.intervals import read_calibration
from pawpularity.version import __version__

SUFFIX = ".paw"
MANIFEST = "manifest.json"
CARD = "card.md"
FORMAT = "pawpularity-pack/1"  # manifest.json's "format"
KEPT = (".json", ".csv", ".safetensors", ".onnx")  # the run files a pack carries
PICKLED = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib", ".npy", ".npz")
MAX_MEMBERS = 10_000
MAX_MANIFEST = 1 << 20  # bytes
MAX_UNPACKED = 16 << 30  # bytes, every member together: a bigger "model" is a zip bomb
HUB_PREFIXES = ("hf://", "hf:/")  # typer's Path turns hf://USER/NAME into hf:/USER/NAME
HUB_INSTALL = "pip install 'pawpularity[hub]'"
CHUNK = 1 << 20
DATA = {  # config.json's trained_on → what the card says the run learned from, and its licence
    "demo": (
        "the planted-cue demo set (`pawpularity data demo`), made from the photos shipped with "
        "pawpularity",
        "CC BY-SA 4.0 (adapted Oxford-IIIT Pet photos; ShareAlike applies to them), CC0 for "
        "Chelsea the cat; the demo folder's LICENSES.txt lists every photo",
    ),
    "real": (
        "the PetFinder.my Pawpularity photos and scores (Kaggle, 2021)",
        "PetFinder.my's, under the Kaggle competition's rules: the data may not be "
        "redistributed (this file holds none of its photos, only weights learned from them)",
    ),
}


class Packable(Protocol):
    """What packing reads of a loaded run (`runs.run.Run`, from `load_run(RUN, "auto")`, which
    checks that the run is complete and whether its ONNX graphs are fresh)."""

    path: Path
    config: dict[str, Any]
    runtime: str  # "ort" when its graphs are fresh

    @property
    def kind(self) -> str: ...

    @property
    def warning(self) -> str: ...


def pack_run(loaded: Packable, out: Path | str) -> dict[str, Any]:
    """Write the finished network or head run `loaded` to `out` (a .paw); returns the manifest."""
    out, path = Path(out), loaded.path
    if out.suffix != SUFFIX:
        raise ConfigError(f"--out {out}: a packed model's name ends in {SUFFIX}")
    if loaded.kind == "blend":
        raise ConfigError(f"{path} is a blend: pack each of the runs it blends instead")
    graphs = {g.relative_to(path).as_posix() for g in graph_files(path, loaded.config)}
    stale = graphs | {f"{g}.json" for g in graphs} if loaded.runtime != "ort" else set()
    files = {
        f.relative_to(path).as_posix(): f
        for f in sorted(path.rglob("*"))
        if f.is_file() and not f.is_symlink() and f.suffix in KEPT
    }
    files = {name: f for name, f in files.items() if name not in stale and "/." not in f"/{name}"}
    card = model_card(loaded, out.name).encode("utf-8")
    members = {CARD: _digest(card)}
    with atomic(out) as tmp, zipfile.ZipFile(tmp, "w") as z:
        z.writestr(CARD, card, zipfile.ZIP_DEFLATED)
        for name, f in files.items():
            members[name] = _write_member(z, f, name)
        manifest = {
            "format": FORMAT,
            "name": path.resolve().name,
            "pawpularity": __version__,
            "packed": datetime.now(UTC).isoformat(timespec="seconds"),
            "members": members,
        }
        z.writestr(MANIFEST, to_json(manifest), zipfile.ZIP_DEFLATED)
    return manifest


def model_card(loaded: Packable, name: str = f"NAME{SUFFIX}") -> str:
    """card.md: what the run learned from, how well it did out of fold, how it is built."""
    path, config = loaded.path, loaded.config
    metrics = read_json(path / METRICS)
    cv, base = metrics.get("cv_rmse"), metrics.get("baseline_rmse")
    against = f"{cv / base:.2f}× the baseline" if cv and base else "no baseline recorded"
    kind = config.get("kind", "net")
    if kind == "head":
        sources = list(config["embeddings"].values())
        features = " and ".join(f"{e['backbone']} ({e['image_size']} px)" for e in sources)
        backbone = f"{features} features + {config['head']['head']} head"
    else:
        model = config["model"]
        backbone = (
            f"{model['backbone']} fine-tuned ({model['loss']} loss, {model['image_size']} px)"
        )
    weights = list(path.rglob("*.safetensors"))
    trained = max(f.stat().st_mtime for f in weights) if weights else path.stat().st_mtime
    half = read_calibration(path).half_width(INTERVAL)
    data, licence = DATA.get(str(config.get("trained_on")), ("unrecorded data", "unknown"))
    warning = loaded.warning
    lines = [
        f"# Pawpularity model: {path.resolve().name}",
        "",
        *([f"**Warning:** {warning}.", ""] if warning else []),
        f"- Trained on: {data}; {config.get('rows', '?')} photos.",
        f"- Licence of the training data: {licence}.",
        f"- Cross-validated RMSE: {_number(cv)} against {_number(base)} for predicting the mean "
        f"({against}), {metrics.get('folds', '?')} folds.",
        f"- Score intervals: {INTERVAL:.0%} of true scores within score ± {half:.1f} "
        "(split-conformal on the out-of-fold residuals in oof.csv).",
        f"- Backbone: {backbone}; {kind} run"
        + (
            "; ONNX graphs included."
            if loaded.runtime == "ort"
            else "; no ONNX graphs (scores in PyTorch)."
        ),
        f"- Trained: {datetime.fromtimestamp(trained, UTC).date().isoformat()}; packed with "
        f"pawpularity {__version__} on {datetime.now(UTC).date().isoformat()}.",
        "",
        f"Use it: `pawpularity serve {name}`, `pawpularity predict {name} PHOTO...`, or "
        f'`pawpularity.load("{name}")` in Python.',
    ]
    return "\n".join(lines) + "\n"


def resolve_run(run: Path | str) -> Path:
    """The run folder that `run` names: a folder as it is, a .paw unpacked and checked, an
    hf://USER/NAME downloaded first; anything else is returned for `load_run` to refuse."""
    text = str(run)
    if text.startswith(HUB_PREFIXES):
        return unpack(hub_download(text))
    path = Path(run)
    return unpack(path) if path.is_file() else path


def unpack(paw: Path) -> Path:
    """The cache folder holding the checked members of the packed model `paw`."""
    key = _file_sha256(paw)
    try:
        with zipfile.ZipFile(paw) as z:
            manifest = _checked_manifest(paw, z)
            folder = packs_dir() / key / str(manifest["name"])
            if folder.is_dir() and _intact(folder, manifest["members"]):
                return folder
            shutil.rmtree(folder.parent, ignore_errors=True)  # damaged: unpacked again
            tmp = packs_dir() / f".{key}.{os.getpid()}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                _extract(paw, z, manifest["members"], tmp / folder.name)
                try:
                    os.rename(tmp, folder.parent)
                except OSError:  # another process unpacked it first
                    if not _intact(folder, manifest["members"]):
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            return folder
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise RunError(
            f"{paw}: not a packed model ({e}); make one with `pawpularity pack`"
        ) from None


def packs_dir() -> Path:
    """Where packed models are unpacked: beside the ONNX cache ($PAWPULARITY_CACHE/packs, else
    ~/.cache/pawpularity/packs), readable by this user only."""
    path = cache_dir().parent / "packs"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def hub_download(spec: str) -> Path:
    """hf://USER/NAME (or hf:/USER/NAME) → the local copy of NAME.paw in that Hub repository."""
    repo = hub_repo(spec.removeprefix(HUB_PREFIXES[0]).removeprefix(HUB_PREFIXES[1]))
    hub = import_hub()
    name = f"{repo.split('/')[1]}{SUFFIX}"
    try:
        return Path(hub.hf_hub_download(repo, name))
    except Exception as e:  # offline without a cached copy, no such repo or file, HTTP errors
        why = " ".join(str(e).split())[:300]
        raise RunError(f"hf://{repo}: cannot get {name} ({type(e).__name__}: {why})") from None


def hub_push(paw: Path, repo: str) -> str:
    """Upload `paw` (as NAME.paw) and its card (as README.md) to the Hub model repo USER/NAME;
    returns the repo's URL. Needs a token (`hf auth login` or HF_TOKEN)."""
    repo = hub_repo(repo)
    hub = import_hub()
    with zipfile.ZipFile(paw) as z:
        card = z.read(CARD)
    try:
        api = hub.HfApi()
        url = str(api.create_repo(repo, exist_ok=True))
        api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo)
        name = f"{repo.split('/')[1]}{SUFFIX}"
        api.upload_file(path_or_fileobj=str(paw), path_in_repo=name, repo_id=repo)
    except Exception as e:  # no token, no network, no rights: the Hub's message says which
        why = " ".join(str(e).split())[:300]
        raise RunError(f"--push {repo}: upload failed ({type(e).__name__}: {why})") from None
    return url


def hub_repo(repo: str) -> str:
    parts = repo.split("/")
    if len(parts) != 2 or not all(p and plain_name(p) and p.isascii() for p in parts):
        raise ConfigError(f"{repo!r}: a Hub model is named USER/NAME (hf://USER/NAME to load it)")
    return repo


def import_hub() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError(f"the Hugging Face Hub needs its client: {HUB_INSTALL}") from None
    return huggingface_hub


def _checked_manifest(paw: Path, z: zipfile.ZipFile) -> dict[str, Any]:
    """manifest.json, after every member's name, type and size were checked against it."""
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise RunError(f"{paw}: {len(infos)} members; a packed model has far fewer")
    names = [i.filename for i in infos]
    for info in infos:
        _check_member(paw, info)
    if len(set(names)) != len(names):
        raise RunError(f"{paw}: a member appears twice (tampered with)")
    if MANIFEST not in names:
        raise RunError(f"{paw}: no {MANIFEST}; not a packed model from `pawpularity pack`")
    if z.getinfo(MANIFEST).file_size > MAX_MANIFEST:
        raise RunError(f"{paw}: {MANIFEST} is too large")
    try:
        manifest = json.loads(z.read(MANIFEST))
        members = manifest["members"]
        sizes = {n: int(m["size"]) for n, m in members.items()}
        shas = [m["sha256"] for m in members.values()]
        name = manifest["name"]
        good = manifest["format"] == FORMAT and all(isinstance(h, str) for h in shas)
    except Exception:
        good = False
    if not good or not isinstance(name, str) or not plain_name(name):
        raise RunError(f"{paw}: {MANIFEST} is not a pack manifest ({FORMAT})")
    listed = set(names) - {MANIFEST}
    if extra := sorted(listed - set(members)):
        raise RunError(f"{paw}: member {extra[0]} is not in its manifest (tampered with)")
    if missing := sorted(set(members) - listed):
        raise RunError(f"{paw}: member {missing[0]} of its manifest is missing")
    if wrong := [
        i.filename for i in infos if i.filename in sizes and i.file_size != sizes[i.filename]
    ]:
        raise RunError(f"{paw}: member {wrong[0]} has another size than its manifest says")
    if sum(sizes.values()) > MAX_UNPACKED:
        raise RunError(f"{paw}: unpacks to more than {MAX_UNPACKED >> 30} GiB; refused")
    return dict(manifest)


def _check_member(paw: Path, info: zipfile.ZipInfo) -> None:
    name, mode = info.filename, info.external_attr >> 16
    parts = name.split("/")
    if "\\" in name or ":" in name or not all(plain_name(p) for p in parts):
        raise RunError(f"{paw}: member {name!r} would be written outside its folder (refused)")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG) or info.is_dir():
        raise RunError(f"{paw}: member {name!r} is a link or folder, not a file (refused)")
    if Path(name).suffix.lower() in PICKLED:
        raise RunError(
            f"{paw}: member {name!r} is a pickle-format file, which is never loaded; packs carry "
            "safetensors weights only"
        )
    if info.flag_bits & 0x1:
        raise RunError(f"{paw}: member {name!r} is encrypted")


def _extract(paw: Path, z: zipfile.ZipFile, members: dict[str, Any], folder: Path) -> None:
    """Every member into `folder`, each checked against its size and sha256 as it is written."""
    for name, want in members.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        h, size = hashlib.sha256(), 0
        try:
            with z.open(name) as src, target.open("wb") as dst:
                while chunk := src.read(CHUNK):
                    size += len(chunk)
                    if size > int(want["size"]):
                        raise RunError(f"{paw}: member {name} is larger than its manifest says")
                    h.update(chunk)
                    dst.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:  # a bad CRC, torn data
            raise RunError(f"{paw}: member {name} is damaged ({e})") from None
        if h.hexdigest() != want["sha256"]:
            raise RunError(f"{paw}: member {name} does not match its sha256 (altered or damaged)")


def _intact(folder: Path, members: dict[str, Any]) -> bool:
    """Whether an unpacked folder still holds exactly the manifest's members, unchanged."""
    found = {f.relative_to(folder).as_posix() for f in folder.rglob("*") if not f.is_dir()}
    if found != set(members):
        return False
    return all(_file_sha256(folder / n) == m["sha256"] for n, m in members.items())


def _write_member(z: zipfile.ZipFile, file: Path, name: str) -> dict[str, Any]:
    """`file` into the zip as `name`, hashed as it is written (one read, however large)."""
    info = zipfile.ZipInfo.from_file(file, name)
    small = file.suffix in (".json", ".csv")  # weights and graphs barely compress: stored
    info.compress_type = zipfile.ZIP_DEFLATED if small else zipfile.ZIP_STORED
    h, size = hashlib.sha256(), 0
    with file.open("rb") as src, z.open(info, "w", force_zip64=info.file_size >= 1 << 31) as dst:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    return {"sha256": h.hexdigest(), "size": size}


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _number(value: Any) -> str:
    return "?" if value is None else f"{float(value):.2f}"

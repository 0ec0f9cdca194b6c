"""Writing files atomically, names derived from users' files that stay where they belong, and
the package's one JSON policy.

Every file the package writes goes through `atomic`: the data lands in a temporary file beside
the target and is renamed onto it only when complete, so a reader (or a crash) never leaves half
a file under the final name. JSON is strict: NaN and infinities become null (they are not JSON),
NumPy numbers and arrays become plain numbers and lists.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pawpularity.errors import PawpularityError, RunError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """A temporary path to write; renamed onto `path` when the block ends, removed if it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def plain_name(name: str) -> bool:
    """Whether `name` names a file inside a folder and nothing else: no separator, not `.` or
    `..`, no control character (a CSV's Id, a photo's stem)."""
    return (
        bool(name)
        and name not in (".", "..")
        and not any(c in name for c in "/\\")
        and all(c.isprintable() for c in name)
    )


def safe_name(stem: str) -> str:
    """A file or folder name from a photo's stem that stays inside the folder it is joined to:
    separators and control characters become `_`, leading dots go (`..` would climb)."""
    cleaned = "".join("_" if c in "/\\" or not c.isprintable() else c for c in stem)
    return cleaned.lstrip(".") or "photo"


def unique_name(stem: str, used: set[str]) -> str:
    """`safe_name(stem)`, or with _2, _3, ... when taken; `used` holds the names taken so far
    (seed it with the files the command itself writes, e.g. summary.json)."""
    base = safe_name(stem)
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def photo_error(e: Exception) -> str:
    """The error row of a photo that failed, for commands that go on with the others; a file
    system failure (a full disk, a folder that cannot be written) is raised again instead:
    nothing else could be written either."""
    if isinstance(e, OSError) and e.errno is not None:
        raise e
    return error_text(e)


def error_text(e: Exception) -> str:
    """An error as one line: the package's own messages as they are, others with their type."""
    text = str(e) if isinstance(e, PawpularityError) else f"{type(e).__name__}: {e}"
    return " ".join(text.split())


def write_bytes(path: Path, data: bytes) -> None:
    with atomic(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def to_json(data: Any) -> str:
    """Indented strict JSON (see the module's policy), keys in the order given."""
    return json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n"


def write_json(path: Path, data: Any) -> None:
    write_text(path, to_json(data))


def read_json(path: Path) -> Any:
    """A run's (or an embeddings folder's) JSON file, or a RunError saying what is wrong."""
    if not path.is_file():
        raise RunError(f"{path}: missing; is this a training run folder?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not valid JSON ({e})") from e


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A table without its index, lines ending in \\n."""
    with atomic(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def save_npy(path: Path, array: np.ndarray) -> None:
    import numpy as np

    with atomic(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)


def jsonable(value: Any) -> Any:
    """`value` with NaN/inf as None and NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):  # NumPy, PyTorch
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

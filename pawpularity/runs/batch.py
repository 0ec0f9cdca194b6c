"""A picklable batch scorer for distributed engines (Ray Data, Spark), depending on neither.

`BatchScorer(run)` loads the run once; calling it on a batch — a dict of columns as Ray Data's
`map_batches` and pandas UDFs hand them over — returns the columns of `predict`'s CSV. Pickling
keeps only the run's path, runtime and device: each worker loads the model itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pawpularity.data.dataset import Encoded, Photo
from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.runs.config import BATCH_SIZE
from pawpularity.runs.intervals import COLUMNS as INTERVAL_COLUMNS
from pawpularity.runs.intervals import INTERVAL, check_level
from pawpularity.runs.predict import score_batches
from pawpularity.runs.run import load_run

INPUTS = ("path", "bytes", "image")  # the batch columns a photo can come in, first found used


class BatchScorer:
    """Scores batches of photos with a run loaded once in `__init__`.

    A batch holds one of the columns "path" (files to read; every worker must see them),
    "bytes" (encoded files, e.g. Spark's binaryFile `content`) or "image" (decoded H×W×3 uint8
    arrays, as `ray.data.read_images` gives), optionally "flags" (N×12, NaN where unknown) and,
    with bytes or images, "path" to name them. Returns {"path", "score", "score_low",
    "score_high", "percentile", <each flag>, "error"} as NumPy arrays: NaN scores and the error
    where a photo failed.

    Parameters
    ----------
    run
        A run folder, as for `pawpularity.load`.
    runtime
        ``"auto"``, ``"ort"`` or ``"eager"``, as for `pawpularity.load`.
    batch_size
        Photos per forward pass within a batch.
    device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:K"``, as for `pawpularity.load`, resolved in
        each worker: ``"auto"`` takes the GPU the cluster gave the worker, if any.

    Examples
    --------
    >>> scorer = BatchScorer(run)
    >>> out = scorer({"path": np.array([photo, "missing.jpg"])})
    >>> sorted(out)[:3], bool(1 <= out["score"][0] <= 100), out["error"][1]
    (['Accessory', 'Action', 'Blur'], True, 'missing.jpg: file not found')
    >>> bool(out["score_low"][0] <= out["score"][0] <= out["score_high"][0])
    True
    >>> out = scorer({"bytes": [open(photo, "rb").read()], "path": ["upload.jpg"]})
    >>> out["path"][0], bool(out["error"][0] == "")
    ('upload.jpg', True)
    """

    def __init__(
        self,
        run: str | Path,
        runtime: str = "auto",
        batch_size: int = BATCH_SIZE,
        device: str = "auto",
        interval: float = INTERVAL,
    ):
        self.path, self.runtime, self.batch_size = str(run), runtime, batch_size
        self.device, self.interval = device, check_level(interval)
        self.run = load_run(self.path, runtime, device=device)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "run": self.path,
            "runtime": self.runtime,
            "batch_size": self.batch_size,
            "device": self.device,
            "interval": self.interval,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["run"], state["runtime"], state["batch_size"], state["device"], state["interval"]
        )

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        photos, names = _photos(batch)
        flags = batch.get("flags")
        rows = None if flags is None else [_known(f) for f in flags]
        scores = np.full(len(photos), np.nan)
        probs = np.full((len(photos), len(FLAGS)), np.nan)
        errors = [""] * len(photos)
        for part in score_batches(self.run.engine, photos, rows, self.batch_size, workers=0):
            scores[part.index], probs[part.index] = part.scores, part.probs
            for i, e in zip(part.index, part.errors, strict=True):
                errors[i] = e
        spans = self.run.calibration.columns(scores, self.interval)
        return {
            "path": np.asarray(names, dtype=object),
            "score": scores,
            **{name: spans[:, j] for j, name in enumerate(INTERVAL_COLUMNS)},
            **{flag: probs[:, j] for j, flag in enumerate(FLAGS)},
            "error": np.asarray(errors, dtype=object),
        }


def _photos(batch: Mapping[str, Any]) -> tuple[list[Photo], list[str]]:
    """The batch's photos (files to read, encoded files or decoded images) and their names."""
    column = next((c for c in ("bytes", "image") if c in batch), "path")
    if column not in batch:
        raise ConfigError(f"a batch needs one of the columns {', '.join(INPUTS)}")
    values = list(batch[column])
    if "path" in batch:
        names = [str(n) for n in batch["path"]]
    else:
        names = [f"<{column} {i}>" for i in range(len(values))]
    if column == "path":
        return [Path(n) for n in names], names
    if column == "bytes":
        return [Encoded(n, bytes(v)) for n, v in zip(names, values, strict=True)], names
    return [_image(v, n) for n, v in zip(names, values, strict=True)], names


def _image(value: Any, name: str) -> Image.Image:
    array = np.asarray(value)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ConfigError(f"{name}: an image column holds H×W×3 uint8 arrays, not {array.shape}")
    return Image.fromarray(array)


def _known(flags: Any) -> list[float] | None:
    row = np.asarray(flags, dtype=np.float64).reshape(-1)
    return None if np.isnan(row).all() else row.tolist()

"""`predict --engine ray`: photos scored by actors of a Ray cluster (or of a local Ray), each
loading the run once (`BatchScorer`); the same CSV, rows and exit codes as the local `predict`.

Every node must see the photos' paths (a shared file system) and have pawpularity installed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from pawpularity.data.photos import Item
from pawpularity.data.schema import FLAGS
from pawpularity.device import resolve_device, runtime_for
from pawpularity.errors import ConfigError
from pawpularity.runs.batch import BatchScorer
from pawpularity.runs.config import BATCH_SIZE
from pawpularity.runs.intervals import COLUMNS as INTERVAL_COLUMNS
from pawpularity.runs.intervals import INTERVAL, check_level
from pawpularity.runs.predict import Summary, csv_row, write_predictions
from pawpularity.runs.run import load_run

INSTALL_RAY = "pip install 'pawpularity[ray]'"


def import_ray() -> ModuleType:
    """ray with Ray Data, or a ConfigError that says how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise ConfigError(f"--engine ray needs Ray Data ({e}): {INSTALL_RAY}") from e
    return ray


def predict_on_ray(
    run: Path,
    items: Sequence[Item],
    out: Path,
    address: str | None = None,
    concurrency: int = 1,
    batch_size: int = BATCH_SIZE,
    runtime: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    inputs: Sequence[Path] = (),
    device: str = "auto",
    interval: float = INTERVAL,
) -> Summary:
    """Score `items` with `concurrency` actors on the Ray cluster at `address` (None: the one
    this process is connected to, else a new local one) and write `predict`'s CSV to `out`
    (resume, overwrite, inputs, interval: as for `predict`).

    device: "cuda" gives each actor a GPU of the cluster (Ray picks which: no "cuda:K"); "auto"
    and "cpu" score on the actors' CPUs (Ray hides GPUs from actors that asked for none).
    """
    spec = device.strip().lower()
    if spec.startswith("cuda:"):
        raise ConfigError(f"--engine ray gives each actor a GPU itself: --device cuda, not {spec}")
    if spec not in ("auto", "cpu", "cuda"):
        resolve_device(spec)  # the one-line error for a name that is no device
    if spec == "cuda":
        runtime_for(torch.device("cuda"), runtime)  # ORT runs on the CPU: a one-line error
    ray = import_ray()
    check_level(interval)
    loaded = load_run(run, runtime if spec != "cuda" else "eager")  # a broken run fails here,
    loaded.calibration.half_width(interval)  # and one without its out-of-fold rows, not in actors
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    scorer = {
        "run": str(Path(run).resolve()),
        "runtime": runtime,
        "batch_size": batch_size,
        "device": spec,
        "interval": interval,
    }

    def rows(todo: list[Item]) -> Iterator[list[list[str]]]:
        scored = ray.data.from_items([_record(it) for it in todo]).map_batches(
            BatchScorer,
            fn_constructor_kwargs=scorer,
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_gpus=1 if spec == "cuda" else 0,
        )
        for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
            yield [
                csv_row(
                    str(path),
                    batch["score"][i],
                    [batch[c][i] for c in INTERVAL_COLUMNS],
                    [batch[f][i] for f in FLAGS],
                    error,
                )
                for i, (path, error) in enumerate(zip(batch["path"], batch["error"], strict=True))
            ]

    try:
        return write_predictions(out, items, rows, resume, overwrite, inputs)
    finally:
        if started:
            ray.shutdown()


def _record(item: Item) -> dict[str, Any]:
    nan = [float("nan")] * len(FLAGS)
    return {"path": str(item.path), "flags": list(item.flags) if item.flags else nan}

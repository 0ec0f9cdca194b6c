"""The real-data path at full size: every stage a user runs on a Kaggle-sized set, timed.

For each size a `data demo --full-size` set (720×960 or 960×720 JPEGs, as adoption photos are)
is built, or DATA is taken as it is, and the stages run one after another, each in its own
process as a user would start it: `data check` → `train` (5 folds × 1 epoch, the default
recipe) → `embed` → `train --head svr` → `predict` (every photo) → `analyze --max-images 200`.
Per stage: wall time, photos/s and peak resident memory (of the command's main process, from
the OS). With two sizes, the ratios of time per photo and of peak memory: both should stay
about flat (analyze explains 200 photos at any size, so its time is per run, not per photo).
The CPU may be shared: compare rows, not absolute numbers.

    python bench/full_data.py [--sizes 1000,9912] [--work DIR]    # about 1.5 h on 2 cores
    python bench/full_data.py --data petfinder                       # the real photos, once
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from scale import measure

FOLDS, MAX_IMAGES = 5, 200


def stages(data: Path, work: Path) -> dict[str, list[str]]:
    """Each stage's command line (its arguments after `pawpularity`)."""
    run, emb, head, epochs = work / "run", work / "emb", work / "svr", 1
    commands: dict[str, tuple[object, ...]] = {
        "data check": ("data", "check", data),
        "train": ("train", data, "--out", run, "--folds", FOLDS, "--epochs", epochs),
        "embed": ("embed", data, "--out", emb),
        "train --head svr": ("train", data, "--head", "svr", "--embeddings", emb, "--out", head,
                             "--folds", FOLDS),
        "predict": ("predict", run, data / "train", "--out", work / "preds.csv"),
        "analyze": ("analyze", run, data, "--out", work / "analysis", "--max-images", MAX_IMAGES),
    }  # fmt: skip
    return {name: [str(a) for a in args] for name, args in commands.items()}


def photos_in(data: Path) -> int:
    return sum(1 for _ in (data / "train").glob("*.jpg"))


def bench(data: Path, work: Path) -> dict[str, tuple[float, float]]:
    """{stage: (seconds, peak MiB)}, printed as they finish."""
    n = photos_in(data)
    shutil.rmtree(work, ignore_errors=True)  # the bench's own runs: every stage starts afresh
    rows = {}
    for name, args in stages(data, work).items():
        seconds, mib = measure(args)
        per_second = (min(n, MAX_IMAGES) if name == "analyze" else n) / seconds
        print(f"{name:17} {n:7d} {seconds:8.1f} {per_second:9.1f} {mib:9.0f}", flush=True)
        rows[name] = seconds, mib
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    svr = json.loads((work / "svr" / "metrics.json").read_text())
    print(f"  cv_rmse: network {metrics['cv_rmse']:.2f}, svr {svr['cv_rmse']:.2f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,9912", help="demo sets to build, in photos")
    parser.add_argument("--data", type=Path, help="a Kaggle-layout folder instead of demo sets")
    parser.add_argument("--work", type=Path, help="keep sets and runs here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work or Path(tmp)
        print(f"{'stage':17} {'photos':>7} {'seconds':>8} {'photos/s':>9} {'peak MiB':>9}")
        results = []
        for n in [None] if args.data else [int(s) for s in args.sizes.split(",")]:
            data = args.data or root / f"set{n}"
            if n is not None and not (data / "train.csv").is_file():
                seconds, _ = measure(["data", "demo", str(data), "--n", str(n), "--full-size"])
                print(f"{'(data demo)':17} {n:7d} {seconds:8.1f}", flush=True)
            results.append((photos_in(data), bench(data, root / f"work{n or 'data'}")))
        if len(results) > 1:
            (n0, first), (n1, last) = results[0], results[-1]
            for name, (s0, m0) in first.items():
                s1, m1 = last[name]
                time = f"time {s1 / s0:.2f}×" if name == "analyze" else (
                    f"time per photo {(s1 / n1) / (s0 / n0):.2f}×"
                )  # fmt: skip
                print(f"{name}: {n1} vs {n0} photos: {time}, peak memory {m1 / m0:.2f}× (flat: 1×)")


if __name__ == "__main__":
    main()

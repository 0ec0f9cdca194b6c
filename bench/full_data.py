"""The real-data path at full size: every stage a user runs on a Kaggle-sized set, timed.

For each size a `data demo --full-size` set (720×960 or 960×720 JPEGs, as adoption photos are)
is built, or DATA is taken as it is, and the stages run one after another, each in its own
process as a user would start it: `data check` → `train` (5 folds × 1 epoch, the default
recipe) → `embed` → `train --head svr` → `predict` (every photo) → `analyze --max-images 200`.
Per stage: wall time, photos/s and peak resident memory (of the command's main process, from
the OS). With two sizes, the ratios of time per photo and of peak memory: both should stay
about flat (analyze explains 200 photos at any size, so its time is per run, not per photo).
The CPU may be shared: compare rows, not absolute numbers.

    python bench/full_data.py [--sizes 1000,9912] [--work DIR]    # about 3 h on 2 cores
    python bench/full_data.py --data petfinder                       # the real photos, once

With --work, each finished stage's row is kept in DIR/results<N>.json and its outputs in
DIR/work<N>: the next call reads them back and runs only the stages that did not finish (delete
the file to measure that size again), so a bench interrupted after hours resumes by stage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from scale import measure

FOLDS, MAX_IMAGES = 5, 200


def stages(data: Path, work: Path) -> dict[str, tuple[list[str], Path | None]]:
    """Each stage's command line (its arguments after `pawpularity`) and what it writes."""
    run, emb, head, preds, epochs = work / "run", work / "emb", work / "svr", work / "preds.csv", 1
    commands: dict[str, tuple[tuple[object, ...], Path | None]] = {
        "data check": (("data", "check", data), None),
        "train": (("train", data, "--out", run, "--folds", FOLDS, "--epochs", epochs), run),
        "embed": (("embed", data, "--out", emb), emb),
        "train --head svr": (("train", data, "--head", "svr", "--embeddings", emb, "--out", head,
                              "--folds", FOLDS), head),
        "predict": (("predict", run, data / "train", "--out", preds), preds),
        "analyze": (("analyze", run, data, "--out", work / "analysis", "--max-images",
                     MAX_IMAGES), work / "analysis"),
    }  # fmt: skip
    return {name: ([str(a) for a in args], out) for name, (args, out) in commands.items()}


def photos_in(data: Path) -> int:
    return sum(1 for _ in (data / "train").glob("*.jpg"))


def row(name: str, n: int, seconds: float, mib: float) -> str:
    per_second = (min(n, MAX_IMAGES) if name == "analyze" else n) / seconds
    return f"{name:17} {n:7d} {seconds:8.1f} {per_second:9.1f} {mib:9.0f}"


def bench(data: Path, work: Path, saved: Path) -> dict[str, tuple[float, float]]:
    """{stage: (seconds, peak MiB)}, printed and saved as they finish. Stages already in `saved`
    are read back (their outputs are kept in `work`); a stage that did not finish runs afresh."""
    n = photos_in(data)
    done = json.loads(saved.read_text()) if saved.is_file() else {}
    rows = {k: (float(s), float(m)) for k, (s, m) in done.items()}
    if not rows:
        shutil.rmtree(work, ignore_errors=True)  # the bench's own runs: every stage starts afresh
    for name, (args, out) in stages(data, work).items():
        if name in rows:
            print(row(name, n, *rows[name]) + "  (measured before)", flush=True)
            continue
        if out is not None:  # what an interrupted try left
            shutil.rmtree(out, ignore_errors=True)
            out.unlink(missing_ok=True)
        rows[name] = measure(args)
        saved.write_text(json.dumps(rows))
        print(row(name, n, *rows[name]), flush=True)
    scores = [
        f"{member} {json.loads(path.read_text())['cv_rmse']:.2f}"
        for member, path in (
            ("network", work / "run/metrics.json"),
            ("svr", work / "svr/metrics.json"),
        )
        if path.is_file()  # gone when the runs were deleted and only the rows kept
    ]
    print(f"  cv_rmse: {', '.join(scores) or 'runs deleted'}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,9912", help="demo sets to build, in photos")
    parser.add_argument("--data", type=Path, help="a Kaggle-layout folder instead of demo sets")
    parser.add_argument("--work", type=Path, help="keep sets and runs here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        print(f"{'stage':17} {'photos':>7} {'seconds':>8} {'photos/s':>9} {'peak MiB':>9}")
        results = []
        for n in [None] if args.data else [int(s) for s in args.sizes.split(",")]:
            data = args.data or root / f"set{n}"
            if n is not None and not (data / "train.csv").is_file():
                seconds, _ = measure(["data", "demo", str(data), "--n", str(n), "--full-size"])
                print(f"{'(data demo)':17} {n:7d} {seconds:8.1f}", flush=True)
            tag = n or "data"
            rows = bench(data, root / f"work{tag}", root / f"results{tag}.json")
            results.append((photos_in(data), rows))
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

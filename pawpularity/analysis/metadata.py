"""`analyze --metadata-only`: flag effects, the score distribution and the report from a
train.csv alone (no images, no model, no PyTorch import: a second or two)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pawpularity.analysis import figures
from pawpularity.analysis.flags import flag_effects
from pawpularity.analysis.hypotheses import flag_hypotheses, judge
from pawpularity.analysis.outputs import write_common
from pawpularity.analysis.report import Report
from pawpularity.data.schema import TARGET, read_table
from pawpularity.files import write_json


def analyze_metadata(csv: Path, out: Path) -> dict[str, Any]:
    """Write flag_effects.csv, hypotheses.json (H4 on the score), guidelines.md, report.html
    and summary.json to `out`."""
    start = time.perf_counter()
    table = read_table(Path(csv))
    flags, effects = flag_effects(table)
    rows = judge(flag_hypotheses(effects))
    report = Report(
        "Metadata flags and the Pawpularity score",
        {"data": f"{csv} ({len(table)} photos)", "mode": "metadata only: no images, no model"},
        rows,
        flags,
        figures={
            "scores": figures.score_distribution(table[TARGET].to_numpy()),
            "forest": figures.forest(flags),
        },
    )
    summary = write_common(out, flags, rows, report)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    write_json(out / "summary.json", summary)
    return summary

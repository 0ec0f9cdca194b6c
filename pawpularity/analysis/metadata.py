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
from pawpularity.analysis.report import Report, family_figures
from pawpularity.analysis.species import species_hypotheses
from pawpularity.data.schema import TARGET, read_table
from pawpularity.files import write_json


def analyze_metadata(csv: Path, out: Path, embeddings: Path | None = None) -> dict[str, Any]:
    """Write flag_effects.csv, hypotheses.json (H4 on the score; H6, dogs versus cats, with an
    `embed` folder's species), guidelines.md, report.html and summary.json to `out`."""
    start = time.perf_counter()
    table = read_table(Path(csv))
    flags, effects = flag_effects(table)
    hypotheses = flag_hypotheses(effects) + species_hypotheses(table, embeddings)
    rows = judge(hypotheses)
    report = Report(
        "Metadata flags and the Pawpularity score",
        {"data": f"{csv} ({len(table)} photos)", "mode": "metadata only: no images, no model"},
        rows,
        flags,
        figures={
            "scores": figures.score_distribution(table[TARGET].to_numpy()),
            "forest": figures.forest(flags),
            **family_figures(hypotheses, rows),
        },
    )
    summary = write_common(out, flags, rows, report)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    write_json(out / "summary.json", summary)
    return summary

"""Writing the analysis's files, each atomically (a reader never sees half a file)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from pawpularity.analysis.guidelines import markdown
from pawpularity.analysis.report import Report, render
from pawpularity.files import write_csv, write_json, write_text


def write_common(
    out: Path, flags: pd.DataFrame, rows: list[dict[str, Any]], report: Report
) -> dict[str, Any]:
    """flag_effects.csv, hypotheses.json, guidelines.md, report.html; the summary's counts."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(flags, out / "flag_effects.csv")
    write_json(out / "hypotheses.json", rows)
    write_text(out / "guidelines.md", markdown(rows))
    write_text(out / "report.html", render(report))
    return {
        "report": str(out / "report.html"),
        "hypotheses": len(rows),
        "verdicts": dict(Counter(r["verdict"] for r in rows)),
    }

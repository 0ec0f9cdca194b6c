"""Writing the analysis's files, each atomically (a reader never sees half a file)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from pawpularity.analysis.guidelines import markdown
from pawpularity.analysis.report import Report, render


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


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    write_text(path, frame.to_csv(index=False))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

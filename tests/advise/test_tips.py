"""Tips from predicted flags, and the measured effects they cite (flag_effects.csv contract)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pawpularity.advise.evidence import read_effects
from pawpularity.advise.tips import MIN_AUC, flag_tips
from pawpularity.data.schema import FLAGS
from pawpularity.errors import DataError

HEADER = "flag,n_with,n_without,mean_with,mean_without,diff,ci_low,ci_high,p_value\n"
ROWS = (
    "Blur,704,9208,35.1,38.0,-2.9,-4.1,-1.7,0.002\n"
    "Eyes,7500,2412,38.2,37.4,0.8,-0.2,1.8,0.12\n"
    "Human,1600,8312,37.0,38.2,-1.2,-2.3,-0.1,0.03\n"
    "Collage,0,9912,,38.0,,,,\n"  # nothing measured for it
    "Cuteness,10,20,1,2,3,4,5,0.5\n"  # not a flag: ignored
)


def write_effects(folder: Path, text: str = HEADER + ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flag_effects.csv").write_text(text)
    return folder


def flags(**present: float) -> dict[str, float]:
    """Probabilities that give no tip, except those named (underscores for spaces)."""
    neutral = {f: 0.9 if f in ("Subject Focus", "Eyes", "Face", "Near") else 0.1 for f in FLAGS}
    return neutral | {k.replace("_", " "): v for k, v in present.items()}


def test_read_effects_by_contract(tmp_path: Path) -> None:
    effects = read_effects(write_effects(tmp_path / "analysis"))
    assert set(effects) == {"Blur", "Eyes", "Human"}
    blur = effects["Blur"]
    assert (blur.n_with, blur.diff, blur.ci_low, blur.p_value) == (704, -2.9, -4.1, 0.002)
    assert "2.9 points lower" in blur.sentence() and "704 with" in blur.sentence()
    assert "not a clear difference" in effects["Eyes"].sentence()
    assert read_effects(tmp_path / "analysis" / "flag_effects.csv") == effects


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "not found"),
        ("flag,diff\nBlur,1\n", "missing"),
        (HEADER, "missing"),
        (HEADER + "Blur,many,1,1,1,1,1,1,1\n", "line 2: not a number"),
    ],
)
def test_bad_evidence_is_a_clear_error(tmp_path: Path, text: str | None, message: str) -> None:
    folder = tmp_path / "analysis"
    folder.mkdir()
    if text is not None:
        write_effects(folder, text)
    with pytest.raises(DataError, match=message):
        read_effects(folder)


def test_no_problem_no_tip() -> None:
    found = flag_tips(flags())
    assert found.tips == [] and found.dropped == []


def test_a_tip_per_problem_seen() -> None:
    tips = flag_tips(flags(Blur=0.95, Eyes=0.2, Action=0.9, Accessory=0.9)).tips
    assert [t["flag"] for t in tips] == ["Blur", "Eyes"]  # the clearest first; Action is no problem
    assert "blurry" in tips[0]["tip"] and "eyes" in tips[1]["tip"]
    assert all(t["evidence"] is None for t in tips)
    everything = flags(**{f.replace(" ", "_"): 0.99 for f in FLAGS}) | {
        f: 0.01 for f in ("Subject Focus", "Eyes", "Face", "Near")
    }
    assert len(flag_tips(everything).tips) == 10


def test_tips_cite_only_effects_that_back_them_largest_first(tmp_path: Path) -> None:
    effects = read_effects(write_effects(tmp_path / "analysis"))
    found = flag_tips(flags(Human=0.99, Blur=0.6, Info=0.9, Eyes=0.1), effects)
    assert [t["flag"] for t in found.tips] == ["Blur", "Human", "Info"]
    blur = found.tips[0]["evidence"]
    assert blur["diff"] == -2.9 and blur["text"].startswith("The data back this tip: ")
    assert found.tips[2]["evidence"] is None  # no measurement for Info: the tip stands alone
    # Eyes: +0.8 points, 95 % CI -0.2 to +1.8: no clear difference, so no tip that cites it
    assert found.dropped == [
        {"flag": "Eyes", "reason": f"the data do not back it: {effects['Eyes'].sentence()}"}
    ]


def test_an_effect_against_the_tip_drops_it(tmp_path: Path) -> None:
    """Subject Focus scored lower (as on the real data): 'make the pet stand out' has no case."""
    text = HEADER + "Subject Focus,300,9612,36.0,38.1,-2.1,-3.7,-0.5,0.01\n"
    effects = read_effects(write_effects(tmp_path / "analysis", text))
    found = flag_tips(flags(Subject_Focus=0.05), effects)
    assert found.tips == [] and found.dropped[0]["flag"] == "Subject Focus"


def test_a_flag_the_head_cannot_tell_gives_no_tip() -> None:
    auc = {f: 0.9 for f in FLAGS} | {"Blur": MIN_AUC - 0.01, "Human": None}
    found = flag_tips(flags(Blur=0.95, Human=0.95, Group=0.95), auc=auc)
    assert [t["flag"] for t in found.tips] == ["Group"]
    reasons = {d["flag"]: d["reason"] for d in found.dropped}
    assert "out-of-fold AUC 0.69, below 0.7" in reasons["Blur"] and "unmeasured" in reasons["Human"]

"""config.json checked field by field when a run is loaded: one clear line per wrong field.

A run folder comes from `train`, `train --head` or `blend`, but it may have been edited, copied
half, or made by hand: a field of the wrong type, a loss or kind that does not exist, or a
number out of range (10^12 folds) must stop with its name and the values it may take, before
anything is built from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pawpularity.errors import RunError
from pawpularity.models.config import LOSSES
from pawpularity.runs.config import CONFIG, HEAD_KINDS, KINDS, MAX_FOLDS, TTAS

Check = Callable[[Any], str | None]  # a value → what is wrong with it, or None


def integer(low: int, high: int) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and low <= v <= high
        return None if ok else f"an integer from {low} to {high}"

    return check


def number(low: float, high: float) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high
        return None if ok else f"a number from {low:g} to {high:g}"

    return check


def one_of(choices: tuple[str, ...]) -> Check:
    return lambda v: None if v in choices else f"one of {', '.join(choices)}"


def text(v: Any) -> str | None:
    return None if isinstance(v, str) and v else "a non-empty text"


def optional_text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, str) and v) else "a text or null"


SIZE = integer(16, 4096)
NET = {
    "model": {
        "backbone": text,
        "image_size": SIZE,
        "loss": one_of(LOSSES),
        "meta_dim": integer(1, 4096),
        "hidden": integer(1, 65536),
        "dropout": number(0.0, 0.99),
    },
    "train": {"folds": integer(2, MAX_FOLDS)},
}
HEAD = {"head": {"head": one_of(HEAD_KINDS), "folds": integer(2, MAX_FOLDS)}}
SOURCE = {
    "backbone": text,
    "pretrained": one_of(("imagenet", "none")),
    "weights": optional_text,
    "image_size": SIZE,
    "tta": one_of(TTAS),
}


def check_config(config: Any) -> dict[str, Any]:
    """The config, or a RunError naming every wrong field and what it should be."""
    if not isinstance(config, dict):
        raise RunError(f"{CONFIG}: expected an object of settings, not {type(config).__name__}")
    kind = config.get("kind", "net")
    if kind not in KINDS:
        raise RunError(f"{CONFIG}: kind is {kind!r}; expected one of {', '.join(KINDS)}")
    wrong: list[str] = []
    if kind == "net":
        wrong += _sections(config, NET)
    elif kind == "head":
        wrong += _sections(config, HEAD)
        sources = config.get("embeddings")
        if not isinstance(sources, dict) or not sources:
            wrong.append("embeddings: should be an object of embedding sources, one at least")
        else:
            for key, source in sources.items():
                wrong += _fields(f"embeddings.{key}", source, SOURCE)
    else:
        runs, weights = config.get("runs"), config.get("weights")
        if not isinstance(runs, list) or len(runs) < 2 or not all(text(r) is None for r in runs):
            wrong.append("runs: should be a list of two run folders at least")
        elif not isinstance(weights, list) or len(weights) != len(runs):
            wrong.append(f"weights: should be a list of {len(runs)} numbers, one per run")
        else:
            bad = [w for w in weights if number(0.0, 1e6)(w) is not None]
            if bad:
                wrong.append(f"weights: should be numbers from 0 to 1e6, not {bad[0]!r}")
    if wrong:
        raise RunError(f"{CONFIG}: " + "; ".join(wrong) + " (was the run folder edited?)")
    return config


def _sections(config: dict[str, Any], schema: dict[str, dict[str, Check]]) -> list[str]:
    wrong = []
    for section, fields in schema.items():
        wrong += _fields(section, config.get(section), fields)
    return wrong


def _fields(where: str, values: Any, fields: dict[str, Check]) -> list[str]:
    if not isinstance(values, dict):
        return [f"{where}: missing or not an object of settings"]
    wrong = []
    for name, check in fields.items():
        if name not in values:
            wrong.append(f"{where}.{name} is missing")
        elif problem := check(values[name]):
            wrong.append(f"{where}.{name} should be {problem}, not {values[name]!r}")
    return wrong

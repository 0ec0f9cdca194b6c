"""The explanation methods by name: each `(Context, x, column) -> S×S map` (see base.py)."""

from __future__ import annotations

from pawpularity.errors import ConfigError
from pawpularity.explain.base import Method
from pawpularity.explain.gradcam import gradcam
from pawpularity.explain.gradcampp import gradcampp
from pawpularity.explain.rise import rise
from pawpularity.explain.vanilla import smoothgrad, vanilla

METHODS: dict[str, Method] = {
    "vanilla": vanilla,
    "smoothgrad": smoothgrad,
    "gradcam": gradcam,
    "gradcampp": gradcampp,
    "rise": rise,
}


def parse_methods(spec: str) -> tuple[str, ...]:
    """`vanilla,gradcam,...` → the names, checked, in the order given, without repeats."""
    names = tuple(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise ConfigError(
            f"unknown method {', '.join(unknown) or '(none)'}: choose from {', '.join(METHODS)}"
        )
    return names

"""Pawpularity: predict, explain and improve the appeal of pet adoption photos.

The public API (see `pawpularity.api`): `load(run)` → `Model`, whose `score`, `explain` and
`advise` work on photo files and PIL images; `BatchScorer` scores batches on Ray Data or Spark.
Importing the package is cheap: PyTorch loads with the first of these names used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pawpularity.version import __version__

if TYPE_CHECKING:
    from pawpularity.api import FLAGS, IMAGENET_RUN, Model, load
    from pawpularity.runs.batch import BatchScorer

__all__ = ["FLAGS", "IMAGENET_RUN", "BatchScorer", "Model", "__version__", "load"]


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (PEP 562)."""
    if name == "BatchScorer":
        from pawpularity.runs.batch import BatchScorer

        return BatchScorer
    if name in __all__:
        from pawpularity import api

        return getattr(api, name)
    raise AttributeError(f"module 'pawpularity' has no attribute {name!r}")

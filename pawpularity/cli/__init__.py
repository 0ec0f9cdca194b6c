"""The `pawpularity` command: thin wrappers over the library, one line per error.

One module per command; each registers itself on `app` when imported here.
"""

from __future__ import annotations

import sys
import warnings

import typer

from pawpularity.cli import (  # noqa: F401 (registers the commands)
    advise,
    analyze,
    blend,
    data,
    demo,
    embed,
    explain,
    export,
    predict,
    serve,
    train,
)
from pawpularity.cli.app import app
from pawpularity.errors import PawpularityError
from pawpularity.runtime import tune_malloc

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning the package's own errors into one line and exit 1."""
    tune_malloc()
    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"
    try:
        app()
    except PawpularityError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)

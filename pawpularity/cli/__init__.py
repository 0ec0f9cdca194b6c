"""The `pawpularity` command: thin wrappers over the library, one line per error.

One module per command; each registers itself on `app` when imported here.
"""

from __future__ import annotations

import errno
import sys
import warnings

import typer

from pawpularity.cli import (  # noqa: F401 (registers the commands)
    advise,
    analyze,
    blend,
    cache,
    check,
    data,
    demo,
    embed,
    explain,
    export,
    pack,
    predict,
    rank,
    recipe,
    serve,
    train,
)
from pawpularity.cli.app import app
from pawpularity.errors import PawpularityError
from pawpularity.progress import close_bars
from pawpularity.runtime import tune_malloc

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning the package's own errors into one line and exit 1."""
    tune_malloc()
    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"
    try:
        app()
    except PawpularityError as e:
        close_bars()
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
    except OSError as e:  # an unwritable --out, a full disk, a path under a regular file, ...
        close_bars()
        typer.echo(f"error: {describe_os_error(e)}", err=True)
        sys.exit(1)


def describe_os_error(e: OSError) -> str:
    """One line for a file system failure: which path, what went wrong, what to do."""
    where = e.filename if e.filename is not None else "a file"
    why = e.strerror or str(e)
    hints = {
        errno.ENOSPC: "free some disk space and run the command again (--resume where it has it)",
        errno.EACCES: "choose a folder you can write to",
        errno.EROFS: "choose a folder on a writable disk",
        errno.ENOTDIR: "a part of that path is a file, not a folder: choose another path",
        errno.EISDIR: "that path is a folder: give a file name",
        errno.EEXIST: "that path exists already: choose another",
    }
    hint = hints.get(e.errno or 0, "check the path")
    return f"{where}: {why}; {hint}"

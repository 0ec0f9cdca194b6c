"""`pawpularity cache clear`."""

from __future__ import annotations

import typer

from pawpularity.cli.app import app

cache_app = typer.Typer(help="The cache of exported ONNX graphs.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every cached ONNX graph (they are exported again when needed)."""
    from pawpularity.models.onnx import cache_dir, clear_cache

    typer.echo(f"removed {clear_cache()} graphs from {cache_dir()}")

"""`pawpularity explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import app
from pawpularity.explain import RISE_MASKS


@app.command("explain")
def explain_cmd(
    run: Annotated[
        str, typer.Argument(help="A training run folder, or `imagenet` for the bare backbone.")
    ],
    paths: Annotated[list[str], typer.Argument(help="Photos, folders (recursive) or globs.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write maps and panels to.")],
    methods: Annotated[
        str, typer.Option(help="Comma-separated: vanilla, smoothgrad, gradcam, gradcampp, rise.")
    ] = "vanilla,smoothgrad,gradcam,gradcampp,rise",
    target: Annotated[
        str | None,
        typer.Option(
            help="score (the default for a run), flag:NAME (a predicted flag's logit) or "
            "imagenet (the backbone's top class; the default for `imagenet`) or pet "
            "(ImageNet's cat and dog classes together: where the pet is)."
        ),
    ] = None,
    rise_masks: Annotated[
        int, typer.Option(min=1, help="RISE masks (centred scores: fewer are needed).")
    ] = RISE_MASKS,
    seed: Annotated[int, typer.Option()] = 0,
    fold: Annotated[int, typer.Option(min=0, help="Which fold's model to explain.")] = 0,
    sanity: Annotated[
        bool,
        typer.Option(
            "--sanity",
            help="Also re-initialise the model step by step and "
            "report how much each map changes (Spearman ρ).",
        ),
    ] = False,
    runtime: Annotated[
        str, typer.Option(help="Batched passes (RISE, faithfulness): auto, ort or eager.")
    ] = "auto",
) -> None:
    """Saliency maps and their faithfulness: <photo>/<method>.npy|.png, panel.png, summary.json.

    Exit 0 when every photo was explained, 2 when some failed, 1 when none was.
    """
    from pawpularity.explain.methods import parse_methods
    from pawpularity.explain.photos import ExplainConfig, explain_photos
    from pawpularity.training.predict import collect

    config = ExplainConfig(
        methods=parse_methods(methods),
        target=target,
        rise_masks=rise_masks,
        seed=seed,
        fold=fold,
        sanity=sanity,
        runtime=runtime,
    )
    summary = explain_photos(run, [item.path for item in collect(paths)], out, config)
    for name, m in summary["means"].items():
        typer.echo(
            f"{name:<10} deletion {m['deletion_auc']:.3f}  insertion {m['insertion_auc']:.3f}  "
            f"{m['seconds']:.2f} s/photo"
        )
    typer.echo(f"{summary['explained']} explained, {summary['failed']} failed: {out}/summary.json")
    raise typer.Exit(0 if not summary["failed"] else (2 if summary["explained"] else 1))

"""`pawpularity explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import (
    DEVICE_OPTION,
    RISE_MASKS_OPTION,
    RUN_HELP,
    RUNTIME_HELP,
    app,
    load_model,
)
from pawpularity.explain.config import ExplainConfig
from pawpularity.explain.methods import METHODS, Rise, described

DEFAULTS = ExplainConfig()

METHODS_HELP = f"Comma-separated saliency methods ({described()})."


@app.command("explain")
def explain_cmd(
    run: Annotated[str, typer.Argument(help=f"{RUN_HELP}, or `imagenet` for the bare backbone.")],
    paths: Annotated[list[str], typer.Argument(help="Photos, folders (recursive) or globs.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write maps and panels to.")],
    methods: Annotated[str, typer.Option(help=METHODS_HELP)] = ",".join(METHODS),
    target: Annotated[
        str | None,
        typer.Option(
            help="score (the default for a run), flag:NAME (a predicted flag's logit) or "
            "imagenet (the backbone's top class; the default for `imagenet`) or pet "
            "(ImageNet's cat and dog classes together: where the pet is)."
        ),
    ] = None,
    rise_masks: Annotated[str, RISE_MASKS_OPTION] = str(Rise.masks),
    seed: Annotated[int, typer.Option(help="Seeds RISE's masks and SmoothGrad's noise.")] = 0,
    fold: Annotated[
        int | None,
        typer.Option(min=0, help="Explain this fold's model alone; default: the folds' average."),
    ] = None,
    sanity: Annotated[
        bool,
        typer.Option(
            "--sanity",
            help="Also re-initialise the model step by step and "
            "report how much each map changes (Spearman ρ).",
        ),
    ] = DEFAULTS.sanity,
    road: Annotated[
        bool,
        typer.Option(
            "--road/--no-road",
            help="ROAD (pixels removed by the map's ranking and imputed from their "
            "neighbours) of every map and of a random one; --no-road skips it (about 8 s "
            "per map at 224 px on 2 cores).",
        ),
    ] = DEFAULTS.road,
    runtime: Annotated[str, typer.Option(help=RUNTIME_HELP)] = "auto",
    device: Annotated[str, DEVICE_OPTION] = "auto",
) -> None:
    """Saliency maps and their faithfulness: <photo>/<method>.npy|.png, panel.png, summary.json.

    Maps explain the score as it is made: the average over the run's folds (or --fold K).
    Exit 0 when every photo was explained, 2 when some failed, 1 when none was.
    """
    from pawpularity.data.photos import collect
    from pawpularity.explain.methods import build, parse_methods, parse_rise_masks

    chosen = build(parse_methods(methods), Rise(masks=parse_rise_masks(rise_masks)))
    config = ExplainConfig(methods=chosen, target=target, sanity=sanity, road=road)
    model = load_model(run, runtime=runtime, fold=fold, seed=seed, device=device)
    summary = model.explain_photos([item.path for item in collect(paths)], out, config)
    for name, m in summary["means"].items():
        aucs = "  ".join(
            f"{k} {_auc(m[f'{k}_auc'])} (random {_auc(m['random'][f'{k}_auc'])}, blurred "
            f"{_auc(m['blurred'][f'{k}_auc'])})"
            for k in ("deletion", "insertion")
        )
        empty = f"  {m['empty']} empty" if m["empty"] else ""
        typer.echo(f"{name:<10} {aucs}  {m['seconds']:.2f} s/photo{empty}")
    typer.echo(f"{summary['explained']} explained, {summary['failed']} failed: {out}/summary.json")
    typer.echo(f"against the baselines, in words: {out}/report.md")
    raise typer.Exit(0 if not summary["failed"] else (2 if summary["explained"] else 1))


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"

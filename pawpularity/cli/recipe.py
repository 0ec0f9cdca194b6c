"""`pawpularity recipe`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import DEVICE_OPTION, app
from pawpularity.runs.config import MAX_FOLDS
from pawpularity.training.config import RecipeConfig

DEFAULTS = RecipeConfig()


@app.command("recipe")
def recipe_cmd(
    data_dir: Annotated[
        Path, typer.Argument(help="Kaggle-layout folder: train.csv + train/<Id>.jpg.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder of every stage's output.")],
    backbones: Annotated[
        str,
        typer.Option(
            help="Comma-separated frozen backbones to embed (flip TTA; pooled features, and "
            "ImageNet logits where they have ImageNet's classifier), an SVR head on each and "
            "one on all."
        ),
    ] = ",".join(DEFAULTS.backbones),
    net: Annotated[
        str, typer.Option(help="Backbone of the fine-tuned network member, or none.")
    ] = str(DEFAULTS.net),
    folds: Annotated[int, typer.Option(min=2, max=MAX_FOLDS)] = DEFAULTS.folds,
    epochs: Annotated[int, typer.Option(min=1, help="The network's epochs.")] = DEFAULTS.epochs,
    seed: Annotated[int, typer.Option()] = DEFAULTS.seed,
    pretrained: Annotated[str, typer.Option(help="imagenet or none.")] = DEFAULTS.pretrained,
    image_size: Annotated[
        int | None, typer.Option(help="Square input side; default: each backbone's own.")
    ] = DEFAULTS.image_size,
    device: Annotated[str, DEVICE_OPTION] = "auto",
) -> None:
    """The Kaggle winners' recipe in one command: frozen embeddings → SVR heads, the fine-tuned
    network, and their nested blend; ends with every member's cv_rmse and the blend's.

    Writes DIR/emb/<backbone>, DIR/svr-<backbone>, DIR/svr-all, DIR/net, DIR/blend and
    DIR/recipe.csv. Run the same command again to finish an interrupted recipe: each stage
    continues where it stopped.
    """
    from pawpularity.training.recipe import recipe

    config = RecipeConfig(
        backbones=tuple(b.strip() for b in backbones.split(",") if b.strip()),
        net=None if net.strip().lower() == "none" else net.strip(),
        folds=folds,
        epochs=epochs,
        seed=seed,
        pretrained=pretrained,
        image_size=image_size,
    )
    table = recipe(data_dir, out, config, device)
    typer.echo(table.to_string(index=False))
    typer.echo(f"recipe written to {out} (table: {out / 'recipe.csv'})")

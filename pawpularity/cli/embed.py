"""`pawpularity embed`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import DEVICE_OPTION, RUNTIME_HELP, app
from pawpularity.runs.config import BATCH_SIZE, FEATURES, TTAS, EmbedConfig

DEFAULTS = EmbedConfig()


@app.command("embed")
def embed_cmd(
    data: Annotated[
        Path, typer.Argument(help="Kaggle-layout folder (its train.csv rows) or a photo folder.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Embeddings folder to write.")],
    backbone: Annotated[str, typer.Option(help="Any backbone `train` takes.")] = DEFAULTS.backbone,
    image_size: Annotated[
        int | None, typer.Option(help="Square input side; default: the backbone's own.")
    ] = DEFAULTS.image_size,
    tta: Annotated[
        str, typer.Option(help=f"{' or '.join(TTAS)}: flip averages with the mirror image.")
    ] = DEFAULTS.tta,
    features: Annotated[
        str,
        typer.Option(
            help=f"{', '.join(FEATURES)}: the pooled embedding, the 1000 ImageNet logits (the "
            "1st-place Kaggle recipe's SVR input), both side by side, or auto: both where the "
            "backbone keeps ImageNet's classifier, else pooled (meta.json records which)."
        ),
    ] = DEFAULTS.features,
    runtime: Annotated[str, typer.Option(help=RUNTIME_HELP)] = "auto",
    device: Annotated[str, DEVICE_OPTION] = "auto",
    batch_size: Annotated[int, typer.Option(min=1)] = BATCH_SIZE,
    pretrained: Annotated[str, typer.Option(help="imagenet or none.")] = DEFAULTS.pretrained,
    weights: Annotated[
        Path | None, typer.Option(help="Backbone weights: .safetensors or a PyTorch state dict.")
    ] = None,
) -> None:
    """Backbone features of every photo, for `train --head svr|ridge`.

    A backbone with an ImageNet classifier also gives each photo's species, p(dog) / (p(cat) +
    p(dog)) (species.npy, for `train --extra species`). Streams in batches; run the same command
    again to finish an interrupted one. A photo that cannot be read gets a NaN row and its error
    in ids.csv. Exit 0 when every photo was embedded, 2 when some failed, 1 when none was.
    """
    from pawpularity.runs.embeddings import embed

    config = EmbedConfig(
        backbone, image_size, tta, pretrained, str(weights) if weights else None, features
    )
    result = embed(data, out, config, runtime, batch_size, device)
    failed = sum(1 for e in result.errors if e)
    typer.echo(f"{len(result.ids)} photos × {result.features.shape[1]} features: {out}")
    if failed:
        typer.echo(f"{failed} photos could not be read: see {out / 'ids.csv'}", err=True)
    raise typer.Exit(0 if not failed else (2 if failed < len(result.ids) else 1))

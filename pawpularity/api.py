"""The public Python API: `load(run)` gives a `Model` that scores, explains and advises photos.

The command line, the web server and the benchmarks make the same calls::

    import pawpularity as paw
    model = paw.load("runs/lite0")                  # any run: folds, head, blend, exported or not
                                                    # (on a CUDA GPU when there is one)
    table = model.score(["rex.jpg", pil_image])      # scores and flag probabilities, one row each
    cam = model.explain("rex.jpg", method="gradcam") # H×W float32 at the photo's own size
    advice = model.advise("rex.jpg")
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image

from pawpularity.advise import MARGIN
from pawpularity.advise.advisor import Advice, Advisor
from pawpularity.advise.check import PhotoCheck, check_photo, check_photos
from pawpularity.advise.evidence import Effect, read_effects
from pawpularity.advise.photos import advise_photos, check_photo_folders
from pawpularity.advise.rank import AnimalRanking, rank_animal
from pawpularity.advise.rank_photos import Animal, RankSummary, rank_photos
from pawpularity.data.images import load_image, upright_rgb
from pawpularity.data.photos import Item
from pawpularity.data.schema import FLAGS
from pawpularity.device import announce, resolve_device, runtime_for
from pawpularity.errors import ConfigError
from pawpularity.explain.config import ExplainConfig
from pawpularity.explain.explainer import (
    IMAGENET_RUN,
    Explainer,
    imagenet_explainer,
    run_explainer,
)
from pawpularity.explain.methods import create
from pawpularity.explain.photos import explain_photos
from pawpularity.runs.config import BATCH_SIZE
from pawpularity.runs.intervals import INTERVAL, check_level
from pawpularity.runs.predict import COLUMNS, Summary, predict, score_batches
from pawpularity.runs.run import Run, load_run

__all__ = ["FLAGS", "IMAGENET_RUN", "Model", "load"]

PhotoLike = str | Path | Image.Image  # a photo file, or an image already decoded


def load(
    run: str | Path,
    *,
    runtime: str = "auto",
    fold: int | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    interval: float = INTERVAL,
) -> Model:
    """Load a run folder (or ``"imagenet"``, the bare ImageNet backbone) for scoring and maps.

    Parameters
    ----------
    run
        A folder written by ``pawpularity train`` (network folds or ``--head`` heads) or
        ``pawpularity blend``, exported (``pawpularity export``) or not; or ``"imagenet"``
        for the bare default backbone, which explains what ImageNet sees (no score).
    runtime
        ``"auto"`` (ONNX Runtime where the run was exported, and for RISE's batched passes),
        ``"ort"`` (insist on it) or ``"eager"`` (PyTorch only), as ``--runtime`` on the CLI.
        On CUDA models run in eager PyTorch: ``"auto"`` means that and ``"ort"`` is refused.
    fold
        Score and explain with this fold's model alone; ``None`` averages every fold.
    seed
        Seeds RISE's masks, SmoothGrad's noise and the bare backbone's untrained heads.
    device
        ``"auto"`` (a CUDA GPU when PyTorch sees one, else the CPU; a note on stderr says
        which), ``"cpu"``, ``"cuda"`` or ``"cuda:K"``, as ``--device`` on the CLI. On CUDA:
        channels_last, float16 autocast for scores and RISE's batches, fp32 gradient maps.
        A device that cannot work here is a ConfigError.
    interval
        The share of true scores each score's interval (``score_low`` to ``score_high``) holds,
        from the run's out-of-fold residuals (split-conformal; ``--interval`` on the CLI).

    Returns
    -------
    Model
        Weights are loaded once; ONNX graphs and batched scorers are built when first needed.

    Examples
    --------
    >>> import pawpularity as paw
    >>> model = paw.load(run)
    >>> model.kind, model.image_size, model.device.type
    ('net', 64, 'cpu')
    """
    where = resolve_device(device)
    runtime = runtime_for(where, runtime)
    level = check_level(interval)
    if str(run) == IMAGENET_RUN:
        if fold is not None:
            raise ConfigError("the bare ImageNet backbone has no folds: drop --fold")
        model = Model(None, runtime=runtime, seed=seed, device=where)
    else:
        loaded = load_run(run, runtime, fold, where)
        model = Model(loaded, runtime=runtime, seed=seed, interval=level)
    announce(device, where)
    return model


class Model:
    """A loaded run: scores photos, draws saliency maps of what is scored, advises fixes.

    Maps explain the score as it is made: the average over the folds that score (one fold
    with ``load(..., fold=K)``). Network runs support every method; head and blend runs the
    methods that need only batched scoring (RISE).

    Parameters
    ----------
    run
        The loaded run (see `load`); ``None`` for the bare ImageNet backbone.
    runtime, seed, interval
        As for `load`.
    device
        Where the bare ImageNet backbone runs; a run runs on its own device (`load_run`).
    """

    def __init__(
        self,
        run: Run | None,
        *,
        runtime: str = "auto",
        seed: int = 0,
        device: str | torch.device = "cpu",
        interval: float = INTERVAL,
    ) -> None:
        self.run, self.runtime, self.seed = run, runtime, seed
        self.interval = check_level(interval)
        self.device = run.device if run is not None else resolve_device(device)

    @property
    def kind(self) -> str:
        """``"net"``, ``"head"``, ``"blend"``, or ``"imagenet"`` for the bare backbone."""
        return IMAGENET_RUN if self.run is None else self.run.kind

    @property
    def warning(self) -> str:
        """What to say before any score: that the run trained on the planted-cue demo set (its
        scores mean nothing for real photos), or ``""``."""
        return "" if self.run is None else self.run.warning

    @property
    def image_size(self) -> int:
        """The square side photos are squeezed to before scoring."""
        return self.explainer.size if self.run is None else self.run.image_size

    def score(
        self,
        photos: PhotoLike | Sequence[PhotoLike],
        flags: np.ndarray | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        workers: int = 0,
    ) -> pd.DataFrame:
        """Score photos: one row per photo, as ``pawpularity predict`` writes them.

        Parameters
        ----------
        photos
            Photo files and decoded images (PIL), or one of them. A large JPEG file is decoded
            at a reduced scale, as ``predict`` does; an image handed over decoded is resized
            from the pixels given (a few hundredths of a point apart at most, usually).
        flags
            N×12 known PetFinder flags (NaN where unknown), or None: the run predicts them.
        batch_size, workers
            Photos per forward pass; decoding processes (0: decode in this process).

        Returns
        -------
        pandas.DataFrame
            Columns ``path`` (an image's ``filename``, or ``<image i>``), ``score`` (1–100),
            ``score_low`` and ``score_high`` (the interval that holds the true score for
            `interval` of photos), ``percentile`` (the share of training photos it scores
            above, 0–100), the 12 flag probabilities and ``error`` ("" where the photo was read;
            NaN scores where it was not).

        Examples
        --------
        >>> table = paw.load(run).score([photo, photo])
        >>> list(table.columns) == ["path", "score", "score_low", "score_high", "percentile",
        ...                         *FLAGS, "error"]
        True
        >>> bool(table["score"].between(table["score_low"], table["score_high"]).all())
        True
        """
        run = self._scoring_run()
        many = [photos] if isinstance(photos, str | Path | Image.Image) else list(photos)
        sources = [_image(p) if isinstance(p, Image.Image) else Path(p) for p in many]
        known = None if flags is None else [list(row) for row in np.asarray(flags, np.float64)]
        rows: list[list[Any]] = []
        for batch in score_batches(run.engine, sources, known, batch_size, workers):
            spans = run.calibration.columns(batch.scores, self.interval)
            for j, (i, s, p, e) in enumerate(batch.rows()):
                rows.append([_name(many[i], i), float(s), *map(float, spans[j]), *map(float, p), e])
        return pd.DataFrame(rows, columns=list(COLUMNS))

    @cached_property
    def explainer(self) -> Explainer:
        """The explainer behind `explain`: gradients, layers and batched passes of this model."""
        if self.run is None:
            return imagenet_explainer(self.runtime, self.seed, self.device)
        return run_explainer(self.run, self.runtime, self.seed)

    def explain(
        self,
        photo: PhotoLike,
        method: str = "gradcam",
        target: str | None = None,
        size: tuple[int, int] | None = None,
        **params: Any,
    ) -> np.ndarray:
        """The raw saliency map of a photo for one method.

        Parameters
        ----------
        photo
            A photo file or a decoded image.
        method
            A registered method (``pawpularity.explain.methods.METHODS``): ``vanilla``,
            ``smoothgrad``, ``gradcam``, ``gradcampp`` or ``rise``.
        target
            ``score`` (default), ``flag:NAME``, ``imagenet`` (the top class; the default of the
            bare backbone) or ``pet`` (ImageNet's cats and dogs together).
        size
            (width, height) of the map; default: the photo's own (EXIF orientation applied).
        **params
            The method's parameters, e.g. ``masks=2000`` for RISE.

        Returns
        -------
        numpy.ndarray
            H×W float32, raw and signed (normalise only to draw it).

        Examples
        --------
        >>> cam = paw.load(run).explain(photo, method="gradcam")
        >>> cam.shape == load_image(photo).size[::-1], cam.dtype
        (True, dtype('float32'))
        """
        return self.explain_notes(photo, method, target, size, **params)[0]

    def explain_notes(
        self,
        photo: PhotoLike,
        method: str = "gradcam",
        target: str | None = None,
        size: tuple[int, int] | None = None,
        **params: Any,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """`explain`, and the method's notes on the map: for RISE ``masks`` (used),
        ``split_half`` (the Spearman ρ of the maps of two halves of its masks) and
        ``converged`` (ρ ≥ 0.9; ``masks="auto"`` adds masks until it is).

        Examples
        --------
        >>> cam, notes = paw.load(run).explain_notes(photo, method="rise", masks=64)
        >>> notes["masks"], -1 <= notes["split_half"] <= 1
        (64, True)
        """
        chosen = create(method, **params)
        default = "score" if self.run is not None else "imagenet"
        return self.explainer.explain_notes(_image(photo), chosen, target or default, size)

    @cached_property
    def pet_finder(self) -> Explainer:
        """The bare ImageNet backbone (eager PyTorch) that finds the pet, for advice and checks."""
        return imagenet_explainer("eager", self.seed, self.device)

    def check(self, photo: PhotoLike) -> PhotoCheck:
        """The photo checks that need no trained score (the bare backbone does them too).

        Returns
        -------
        PhotoCheck
            ``pet_probability`` (a cat or dog), ``pet_share`` (of the frame), the ``quality``
            measured (sharpness in the pet's box, brightness, blown-out highlights), each
            verdict (``ok_pet``, ``ok_size``, ``ok_frame``, ``ok_sharp``, ``ok_exposure``)
            and ``tips()`` for those that fail; ``to_dict()`` is a row of checks.csv.

        Examples
        --------
        >>> check = paw.load("imagenet").check(photo)
        >>> check.ok_pet, sorted(check.to_dict())[:3]
        (True, ['brightness', 'clipped', 'ok_exposure'])
        """
        return check_photo(self.pet_finder, _image(photo))

    def check_photos(
        self,
        items: Sequence[Item],
        out: Path,
        resume: bool = False,
        overwrite: bool = False,
        inputs: Sequence[Path] = (),
    ) -> Summary:
        """Stream the checks of `items` to checks.csv `out` (``pawpularity check``)."""
        return check_photos(self.pet_finder, items, Path(out), resume, overwrite, inputs)

    @cached_property
    def advisor(self) -> Advisor:
        """The advisor behind `advise`: this run's engine and explainer, and the bare ImageNet
        backbone that finds the pet."""
        run = self._scoring_run()
        return Advisor(
            run.engine,
            self.explainer,
            self.pet_finder,
            run.calibration,
            run.flag_auc,
            self.interval,
        )

    def advise(
        self,
        photo: PhotoLike,
        evidence: Path | str | dict[str, Effect] | None = None,
        margin: float = MARGIN,
    ) -> Advice:
        """Tips from the predicted flags and the best scored crop or enhancement of a photo.

        Parameters
        ----------
        photo
            A photo file or a decoded image.
        evidence
            A ``pawpularity analyze`` folder (or its ``flag_effects.csv``, or effects already
            read): each tip then cites its flag's measured effect.
        margin
            Score points an edit must gain over the photo to be recommended.

        Returns
        -------
        Advice
            ``score`` and its ``span`` (interval and percentile), ``best_score``, ``best_edit``
            (None when nothing beat the photo by the
            margin), ``tips``, every scored edit, the pet's box; ``best`` is the improved photo
            at full resolution and ``to_dict()`` what ``advice.json`` holds.

        Examples
        --------
        >>> advice = paw.load(run).advise(photo, margin=100)
        >>> advice.best_edit is None and advice.best_score == advice.score
        True
        """
        return self.advisor.advise(_image(photo), _effects(evidence), margin)

    def predict(
        self,
        items: Sequence[Item],
        out: Path,
        batch_size: int = BATCH_SIZE,
        workers: int | None = None,
        resume: bool = False,
        overwrite: bool = False,
        inputs: Sequence[Path] = (),
    ) -> Summary:
        """Stream `items` to the predictions CSV `out` (``pawpularity predict``; `inputs`: the
        files named, which `out` must not be)."""
        run = self._scoring_run()
        return predict(
            run, items, Path(out), batch_size, workers, resume, overwrite, inputs, self.interval
        )

    def explain_photos(
        self, paths: Sequence[Path], out: Path, config: ExplainConfig | None = None
    ) -> dict[str, Any]:
        """Maps, overlays, panels and summary.json of every photo (``pawpularity explain``)."""
        about: dict[str, Any] = {
            "run": str(self.run.path) if self.run else IMAGENET_RUN,
            "fold": None if self.run is None else self.run.fold,
        }
        return explain_photos(self.explainer, paths, Path(out), config or ExplainConfig(), about)

    def advise_photos(
        self,
        paths: Sequence[Path],
        out: Path,
        evidence: Path | str | dict[str, Effect] | None = None,
        margin: float = MARGIN,
    ) -> dict[str, Any]:
        """advice.json, best.jpg and compare.png of every photo (``pawpularity advise``); the
        bare ImageNet backbone, which scores nothing, writes each photo's check.json."""
        if self.run is None:
            return check_photo_folders(self.pet_finder, paths, Path(out))
        return advise_photos(self.advisor, paths, Path(out), _effects(evidence), margin)

    def rank(
        self,
        photos: Sequence[tuple[str, Image.Image | str]],
        effects: Path | str | dict[str, Effect] | None = None,
        margin: float = MARGIN,
    ) -> AnimalRanking:
        """One animal's photos ranked best first, the cover (the photo to show first) picked.

        Parameters
        ----------
        photos
            (name, photo) pairs: a decoded image, or the photo's read error (it gets an error
            row, ranked last).
        effects, margin
            As for `advise` (`effects`: the evidence).

        Returns
        -------
        AnimalRanking
            ``photos`` in rank order (each with ``improved``, the improved full-size photo when
            an edit's confirmed gain held the margin) and ``to_dict()`` for JSON.

        Examples
        --------
        >>> ranking = paw.load(run).rank([("a", load_image(photo)), ("b", "not an image")])
        >>> [(p["rank"], p["cover"], p["error"]) for p in ranking.to_dict()["photos"]]
        [(1, True, None), (None, False, 'not an image')]
        """
        pairs = [(n, p if isinstance(p, str) else _image(p)) for n, p in photos]
        return rank_animal(self.advisor, "", pairs, _effects(effects), margin)

    def rank_photos(
        self,
        groups: Sequence[Animal],
        out: Path,
        effects: Path | str | dict[str, Effect] | None = None,
        margin: float = MARGIN,
        audit: bool = False,
        resume: bool = False,
    ) -> RankSummary:
        """Rank every animal's photos into `out` (``pawpularity rank``): ranking.csv, covers/
        and index.html, one animal at a time."""
        return rank_photos(
            self.advisor, groups, Path(out), _effects(effects), margin, audit, resume
        )

    def _scoring_run(self) -> Run:
        if self.run is None:
            raise ConfigError("the bare ImageNet backbone has no trained score: load a run")
        return self.run


def _image(photo: PhotoLike) -> Image.Image:
    """A photo file loaded as upright RGB, or a decoded image in RGB."""
    return upright_rgb(photo) if isinstance(photo, Image.Image) else load_image(photo)


def _name(photo: PhotoLike, i: int) -> str:
    if isinstance(photo, Image.Image):
        return str(getattr(photo, "filename", "") or f"<image {i}>")
    return str(photo)


def _effects(evidence: Path | str | dict[str, Effect] | None) -> dict[str, Effect] | None:
    if evidence is None or isinstance(evidence, dict):
        return evidence
    return read_effects(Path(evidence))

"""The registry of explanation methods: a name → a `Method` class.

A method class declares, as pytorch-grad-cam's `uses_gradients` and Quantus's metric metadata
do, what it needs from its context (gradients, a feature layer, many batched forward passes),
its parameters as dataclass fields with their defaults, and a one-line summary. Calling an
instance on a context, one prepared photo x (1×3×S×S in [0, 1]) and an output column gives the
raw S×S map. This module is light (no PyTorch): commands build their help and defaults from it;
each method's computation lives in its own module, imported when it first runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from pawpularity.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from pawpularity.explain.base import Context


@dataclass(frozen=True)
class Needs:
    """What a method takes from its context."""

    gradients: bool = False  # backpropagation through the network (not on head or blend runs)
    layer: bool = False  # a feature layer's activations (Grad-CAM's)
    scorer: bool = False  # many batched forward passes: ONNX Runtime is worth its export


@dataclass(frozen=True)
class Method:
    """An explanation method; subclasses are frozen dataclasses whose fields are its parameters."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for `--help` and the API docs
    needs: ClassVar[Needs]
    locates: ClassVar[bool] = False  # coarse maps that cover whole objects (find the pet)

    def __call__(self, ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
        raise NotImplementedError

    def explain(
        self, ctx: Context, x: torch.Tensor, column: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """The map and the method's notes on it (RISE: its masks and their agreement)."""
        return self(ctx, x, column), {}

    def params(self) -> dict[str, Any]:
        """The parameters by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Vanilla(Method):
    name: ClassVar[str] = "vanilla"
    summary: ClassVar[str] = "|∂score/∂pixel|, the maximum over colours"
    needs: ClassVar[Needs] = Needs(gradients=True)

    def __call__(self, ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
        from pawpularity.explain.vanilla import vanilla

        return vanilla(ctx, x, column)


@dataclass(frozen=True)
class SmoothGrad(Method):
    name: ClassVar[str] = "smoothgrad"
    summary: ClassVar[str] = "the vanilla gradient averaged over noisy copies of the photo"
    needs: ClassVar[Needs] = Needs(gradients=True)
    n: int = 25  # noisy copies
    sigma: float = 0.15  # the noise, in units of the [0, 1] pixel range
    batch: int = 25  # copies per backward pass

    def __call__(self, ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
        from pawpularity.explain.vanilla import smoothgrad

        return smoothgrad(ctx, x, column, **self.params())


@dataclass(frozen=True)
class GradCam(Method):
    name: ClassVar[str] = "gradcam"
    summary: ClassVar[str] = "the last feature layer's maps weighted by their mean gradient"
    needs: ClassVar[Needs] = Needs(gradients=True, layer=True)
    locates: ClassVar[bool] = True

    def __call__(self, ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
        from pawpularity.explain.gradcam import gradcam

        return gradcam(ctx, x, column)


@dataclass(frozen=True)
class GradCamPP(Method):
    name: ClassVar[str] = "gradcampp"
    summary: ClassVar[str] = "Grad-CAM with pixel-wise weights of the positive gradients"
    needs: ClassVar[Needs] = Needs(gradients=True, layer=True)
    locates: ClassVar[bool] = True

    def __call__(self, ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
        from pawpularity.explain.gradcampp import gradcampp

        return gradcampp(ctx, x, column)


@dataclass(frozen=True)
class Rise(Method):
    name: ClassVar[str] = "rise"
    summary: ClassVar[str] = "the score-weighted average of random masks (scores centred)"
    needs: ClassVar[Needs] = Needs(scorer=True)
    locates: ClassVar[bool] = True
    # Centred scores need far fewer than the paper's 4000: measured by bench/explain_speed.py,
    # 500 reach ρ 0.88–0.94 to a converged map in ≤ 0.09× the eager time. Each map reports its
    # split-half agreement; "auto" adds masks until it reaches 0.9 (rise.py).
    masks: int | str = 500
    grid: int = 7  # cells per side of each random grid
    batch: int = 32  # masked copies per forward pass

    def __post_init__(self) -> None:
        if self.masks != "auto" and not (isinstance(self.masks, int) and self.masks >= 2):
            raise ConfigError(f"--rise-masks must be auto or a count ≥ 2, not {self.masks!r}")

    def __call__(self, ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
        return self.explain(ctx, x, column)[0]

    def explain(
        self, ctx: Context, x: torch.Tensor, column: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        from pawpularity.explain.rise import rise

        return rise(ctx, x, column, **self.params())


def parse_rise_masks(text: str) -> int | str:
    """A `--rise-masks` value: "auto" or a count."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--rise-masks must be auto or a count ≥ 2, not {text!r}") from None


# In the order commands list and draw them; `locator` takes the first that fits.
METHODS: dict[str, type[Method]] = {
    cls.name: cls for cls in (Vanilla, SmoothGrad, GradCam, GradCamPP, Rise)
}


def register(cls: type[Method]) -> type[Method]:
    """Add a method class under its `name` (usable as a decorator); it then works everywhere a
    method name does."""
    METHODS[cls.name] = cls
    return cls


def create(name: str, **params: Any) -> Method:
    """The method `name` with its default parameters, or those given."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name}: choose from {', '.join(METHODS)}")
    cls = METHODS[name]
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(
            f"{name} has no parameter {', '.join(unknown)} "
            f"(it takes {', '.join(sorted(allowed)) or 'none'})"
        )
    return cls(**params)


def parse_methods(spec: str) -> tuple[str, ...]:
    """`vanilla,gradcam,...` → the names, checked, in the order given, without repeats."""
    names = tuple(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise ConfigError(
            f"unknown method {', '.join(unknown) or '(none)'}: choose from {', '.join(METHODS)}"
        )
    return names


def build(names: Sequence[str], *configured: Method) -> tuple[Method, ...]:
    """The named methods: the configured instance where one of its class is given, else one with
    the default parameters."""
    given = {m.name: m for m in configured}
    return tuple(given.get(n) or create(n) for n in names)


def locator(supported: Callable[[type[Method]], bool] = lambda cls: True) -> str:
    """The first registered method whose maps cover whole objects (to find the pet, or where a
    score's evidence sits) among those `supported`: Grad-CAM, one backward pass, on networks."""
    for name, cls in METHODS.items():
        if cls.locates and supported(cls):
            return name
    raise ConfigError(f"no method that locates objects runs here (of {', '.join(METHODS)})")


def described(names: Sequence[str] | None = None) -> str:
    """'vanilla: …; rise: …': the methods and their summaries, for help texts."""
    return "; ".join(f"{n}: {METHODS[n].summary}" for n in (names or METHODS))

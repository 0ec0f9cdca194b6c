"""The Lightning side of one fold: loss, optimiser, seeded augmentation and resumable epochs.

Every random choice of an epoch is seeded by (seed, epoch), so a run resumed from the checkpoint
of epoch e continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import Sampler

from pawpularity.models.fusion import PawpularityNet

FLAG_WEIGHT = 0.2  # weight of the auxiliary flag loss
FLAG_DROPOUT = 0.5  # share of rows trained on predicted flags, as in production


def epoch_seed(seed: int, epoch: int) -> int:
    return int(seed * 1_000_003 + epoch * 7919) % 2**31


class EpochSampler(Sampler[int]):
    """A seeded shuffle per epoch over n items, each taken in one of `views` cached views.

    Under DDP each of the W processes takes every W-th item of the same shuffle (padded to a
    multiple of W), so with a per-device batch of B/W the W processes together see exactly
    the batches of B that one process would.
    """

    def __init__(self, n: int, views: int, seed: int) -> None:
        self.n, self.views, self.seed, self.epoch = n, views, seed, 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls this at each epoch start
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.n // _world()[1])

    def __iter__(self):  # type: ignore[no-untyped-def]
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        order = torch.randperm(self.n, generator=g)
        view = torch.randint(self.views, (self.n,), generator=g)
        items = (order * self.views + view).tolist()
        rank, world = _world()
        items += items[: len(self) * world - self.n]
        return iter(items[rank::world])


def _world() -> tuple[int, int]:
    """(rank, number of processes) of the running DDP group; (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Batched photo augmentation: flip, zoom 0.8–1 with shift, brightness/contrast ±15 %.

    The random draws come from `generator` on the CPU; the pixels stay on their device.
    """
    x = images.float() / 255.0
    b = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=generator)

    scale = torch.sqrt(uniform(0.8, 1.0))
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, 0, 2] = (1 - scale) * uniform(-1, 1)
    theta[:, 1, 2] = (1 - scale) * uniform(-1, 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = uniform(0.85, 1.15).view(b, 1, 1, 1).to(x)
    brightness = uniform(0.85, 1.15).view(b, 1, 1, 1).to(x)
    return ((x - mean) * contrast + mean).mul(brightness).clamp(0, 1)


class FoldModule(L.LightningModule):
    """Trains a PawpularityNet on photos, or on cached outputs of its frozen first stages.

    There is no validation loop: the out-of-fold predictions after training are the validation.
    """

    def __init__(
        self,
        net: PawpularityNet,
        cut: int,
        cached: bool,
        augment: str,
        lr: float,
        epochs: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.net, self.cut, self.cached, self.augment = net, cut, cached, augment
        self.lr, self.epochs, self.seed = lr, epochs, seed
        net.to(memory_format=torch.channels_last)  # faster convolutions on CPUs (~15 %)

    def embed(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        if x.dim() == 4:  # photos, or a CNN's cached maps (a transformer caches tokens)
            x = x.contiguous(memory_format=torch.channels_last)
        if self.cached:
            return self.net.embed_from(x, self.cut)
        if train and self.augment == "full":  # else flips only, picked by the sampler's views
            g = torch.Generator().manual_seed(epoch_seed(self.seed, self.current_epoch) + 1)
            x = augment(x, g)
        return self.net.embed(x)

    def on_train_epoch_start(self) -> None:
        torch.manual_seed(epoch_seed(self.seed, self.current_epoch))  # dropout, flag dropout

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        x, flags, target = batch
        dropped = torch.rand(len(flags), 1, device=flags.device) < FLAG_DROPOUT
        raw, flag_logits = self.net.head(
            self.embed(x, train=True), flags.masked_fill(dropped, math.nan)
        )
        loss = self.score_loss(raw, target) + FLAG_WEIGHT * F.binary_cross_entropy_with_logits(
            flag_logits, flags
        )
        self.log("loss", loss, prog_bar=True, batch_size=len(x))
        return loss

    def score_loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.net.config.loss == "bce":
            return F.binary_cross_entropy_with_logits(raw, target / 100.0)
        return F.mse_loss(raw, (target - self.net.target_mean) / self.net.target_std)

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        params = [p for p in self.net.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=1e-2)
        # Stepped per batch, so an end-of-epoch checkpoint holds the schedule of the next epoch.
        steps = max(int(self.trainer.estimated_stepping_batches), 1)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

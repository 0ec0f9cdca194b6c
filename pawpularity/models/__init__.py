"""Backbones, the fusion model and checkpoints."""

DEFAULT_BACKBONE = "tf_efficientnet_lite0"

"""The package's own exceptions: each message says what went wrong and how to fix it."""


class PawpularityError(Exception):
    """Base class of every error a user can cause; the CLI prints it on one line."""


class DataError(PawpularityError):
    """A data folder or CSV file that does not follow the Kaggle layout."""


class ImageError(PawpularityError):
    """An image file that cannot be read, or is too small or too large."""


class WeightsError(PawpularityError):
    """Pretrained weights that cannot be found, downloaded or loaded."""


class RunError(PawpularityError):
    """A training run folder that is missing, incomplete or inconsistent."""


class ConfigError(PawpularityError):
    """An option value that cannot work (with this backbone, this data, ...)."""

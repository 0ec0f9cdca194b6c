"""Lines that tell a user what a long step is doing, on stderr, without breaking progress bars."""

from __future__ import annotations

import sys

from tqdm import tqdm


def note(message: str) -> None:
    """One line on stderr (above any progress bar that is running)."""
    tqdm.write(message, file=sys.stderr)


def close_bars() -> None:
    """End every progress bar still drawn, so that what follows starts on a line of its own."""
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()

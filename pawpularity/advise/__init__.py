"""Advice for a shelter's photo: tips from the predicted flags and a scored crop/enhance search."""

MARGIN = 1.0  # score points an edit must gain over the original to be recommended

"""Advice for a shelter's photo: tips from the predicted flags and a scored crop/enhance search."""

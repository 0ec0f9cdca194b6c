"""Pawpularity: predict, explain and improve the appeal of pet adoption photos."""

__version__ = "0.1.0"

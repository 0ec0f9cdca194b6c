"""Hypotheses about popular pet photos, tested with saliency maps and statistics; guidelines and
one HTML report (see analyze.py)."""

"""Saliency maps (Vanilla Gradient, SmoothGrad, Grad-CAM, Grad-CAM++, RISE) and their checks."""

# Default number of RISE masks. Centred scores need far fewer than the paper's 4000: measured by
# bench/explain_speed.py, 500 reach ρ 0.88–0.92 to a converged map in ≤ 0.07× the eager time.
RISE_MASKS = 500

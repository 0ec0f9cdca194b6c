"""Saliency maps (Vanilla Gradient, SmoothGrad, Grad-CAM, Grad-CAM++, RISE) and their checks."""

"""The Kaggle layout, the image loader, photos and their decoding, checks, the demo set, folds."""

DEMO_PHOTOS, DEMO_SEED = 96, 7  # the default demo set (`data demo`, `demo`)

"""The bundle generator behind ``scripts/make_bundles.py``."""

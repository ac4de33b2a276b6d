"""Grasp geometry: rectangles, the model-to-image coordinate mapping, decoding of the grasp maps."""

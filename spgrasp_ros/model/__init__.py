"""SPGrasp built from sam2's modules: channels, model, checkpoints."""

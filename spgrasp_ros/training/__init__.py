"""Training SPGrasp: clips with simulated prompts, the paper's loss, the training loop."""

"""Datasets: annotation types, readers of public grasp datasets, recorded sequences, synthetic scenes, labels."""

"""Readers of public grasp datasets in their own on-disk formats, each converting to the package convention.

One module per dataset, each with ``read_<dataset>(root, ...) -> (list[Sequence], ReadReport)``:
``cornell.read_cornell``, ``jacquard.read_jacquard``, ``ocid.read_ocid``, ``graspnet.read_graspnet``.
Every module docstring states the dataset's layout and how its grasp convention maps to the package's.
"""

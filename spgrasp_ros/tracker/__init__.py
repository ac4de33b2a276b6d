"""Streaming multi-object grasp tracking: bounded memory banks and the per-frame tracker."""

"""Which past frames and pointers condition the current frame, and what each frame leaves in memory.

This is the one replaceable piece of the tracker's memory: a ``MemorySelection`` makes each cohort's
``MemoryBank``, hands sam2's memory attention (``SAM2Base._prepare_memory_conditioned_features``) the
``output_dict`` it reads for a frame, and commits a processed frame's entry. sam2 picks from that dict by
frame index (the prompt frames, the last ``n_hist`` frames' spatial memory, the last ``max_obj_ptrs - 1``
pointers), so a policy that keeps other frames (confident ones, anchors) presents them under the indices it
wants read.

``RecentFrames`` is SAM 2's and SPGrasp's rule (Mei et al. 2025, Sec. III-B: the N_hist most recent states):
every frame is written, the newest ones are read. It reproduces sam2's video predictor exactly.

``ConfidentFrames`` writes memory only from confident frames, as SAMURAI's motion-aware memory (Yang et al. 2024,
Sec. 4.2) selects frames by mask, object and motion scores. In a batch, one frame is good for one object and
bad for another: an object whose frame is not confident (the tracker's calibrated presence says it is not
seen) repeats its last confident entry in the new slot instead, so the memory it reads stays made of frames
where it was seen, and the bank keeps its size and order.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.model.spgrasp import HeadOutputs
from spgrasp_ros.tracker.memory_bank import POINTER_KEYS, MemoryBank, blend_rows


class MemorySelection(Protocol):
    """The memory policy of a tracker (``GraspTracker(memory_selection=...)``)."""

    def new_bank(self, prompt_frame: int, entry: dict, model_config: ModelConfig) -> MemoryBank:
        """The bank of a cohort prompted on ``prompt_frame`` with that frame's memory ``entry`` (batch B)."""

    def memory(self, bank: MemoryBank, frame_index: int) -> dict:
        """The ``output_dict`` sam2 reads on ``frame_index``: {"cond_frame_outputs": {frame: entry},
        "non_cond_frame_outputs": {frame: entry}}."""

    def commit(self, bank: MemoryBank, frame_index: int, entry: dict, heads: HeadOutputs,
               confident: np.ndarray, anchor: np.ndarray | None = None) -> None:
        """Keep (or not) the memory ``entry`` of the processed frame ``frame_index``, whose decoder outputs
        (masks, object scores, predicted IoU; [B, ...]) were ``heads``; ``confident`` [B] bool (host): the tracker saw
        the object (its calibrated presence); ``anchor`` [B] bool or None: the objects whose distractor anchor
        this frame becomes (``tracker.distractor_anchors``). Runs in the tracker's commit, after every fallible
        step of the frame: it must not raise (decide in plain tensor operations)."""


class RecentFrames:
    """Every frame is written; sam2 reads the most recent ones (the bank keeps exactly what it reads)."""

    def new_bank(self, prompt_frame: int, entry: dict, model_config: ModelConfig) -> MemoryBank:
        """A FIFO bank of ``model_config.n_hist`` spatial memories and ``max_obj_ptrs`` pointers."""
        return MemoryBank(prompt_frame, entry, model_config.n_hist, model_config.max_obj_ptrs)

    def memory(self, bank: MemoryBank, frame_index: int) -> dict:
        """The whole bank, as sam2 keeps it."""
        return bank.as_sam2_dict()

    def commit(self, bank: MemoryBank, frame_index: int, entry: dict, heads: HeadOutputs,
               confident: np.ndarray, anchor: np.ndarray | None = None) -> None:
        """Push the entry (the bank trims what sam2 will no longer read); it becomes the anchor of ``anchor``."""
        bank.push(frame_index, entry)
        if anchor is not None:
            bank.set_anchor(frame_index, entry, anchor)


class ConfidentFrames(RecentFrames):
    """Recent frames, but only confident ones per object (module notes)."""

    def commit(self, bank: MemoryBank, frame_index: int, entry: dict, heads: HeadOutputs,
               confident: np.ndarray, anchor: np.ndarray | None = None) -> None:
        """Push the entry with each unconfident object's slice replaced by its last confident one; it becomes
        the anchor of ``anchor``."""
        if not confident.all():
            entry = blend_rows(confident, entry, bank.last_confident)
        entry = bank.shared(entry)
        bank.push(frame_index, entry)
        if anchor is not None:
            bank.set_anchor(frame_index, entry, anchor)
        # without recent spatial memory (n_hist 0) only the pointer is worth repeating
        bank.last_confident = entry if bank.keeps_spatial_memory else {k: entry[k] for k in POINTER_KEYS}

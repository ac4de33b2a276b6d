"""The bounded memory of one cohort: objects prompted on the same frame, tracked as one batch.

SAM 2's memory attention (``SAM2Base._prepare_memory_conditioned_features``) reads the prompt frame's entry
and the entries of recent frames: spatial memory from the last ``n_hist`` frames and object pointers from the
last ``max_obj_ptrs - 1``. This bank keeps exactly those, as a FIFO: entries older than ``n_hist`` frames
are cut down to their pointer, and nothing beyond the pointer window is kept. Its size is constant whatever
the stream length (SPGrasp, Mei et al. 2025, Sec. III-B: the N_hist most recent states). With distractor
anchors (``tracker.distractor_anchors``) it holds one more conditioning entry, replaced in place.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

POINTER_KEYS = ("obj_ptr", "object_score_logits")
BLENDED_KEYS = ("maskmem_features", "obj_ptr", "object_score_logits")  # per-object parts of an entry (the
#              position encoding depends only on the shape)


def blend_rows(rows: np.ndarray, entry: dict, base: dict) -> dict:
    """``entry`` with the per-object parts of the objects not in ``rows`` ([B] bool, host) taken from ``base``."""
    keep = torch.from_numpy(np.asarray(rows, dtype=bool)).to(entry["obj_ptr"].device)
    return {**entry, **{key: torch.where(keep.reshape(-1, *([1] * (entry[key].ndim - 1))), entry[key],
                                         base[key].to(entry[key].dtype))
                        for key in BLENDED_KEYS if key in entry and key in base}}


def _slice_entry(entry: dict, keep: torch.Tensor) -> dict:
    return {k: (v[keep] if torch.is_tensor(v) else [x[keep] for x in v] if isinstance(v, list) else v)
            for k, v in entry.items()}


class MemoryBank:
    """Memory of B objects sharing a prompt frame. Entries use sam2's layout with batch dimension B."""

    def __init__(self, prompt_frame: int, prompt_entry: dict, n_hist: int, max_obj_ptrs: int) -> None:
        self.prompt_frame = prompt_frame
        # the memory's position encoding depends only on its shape: one copy serves every entry (sam2's video
        # predictor caches it the same way), instead of a third of the bank's bytes per entry
        self._pos_enc = prompt_entry["maskmem_pos_enc"]
        self._cond = {prompt_frame: prompt_entry}
        self._recent: OrderedDict[int, dict] = OrderedDict()
        self._n_hist = n_hist  # recent frames whose spatial memory is kept
        # recent frames kept at all: the pointer window (with n_hist 0, the no-memory ablation, pointers only,
        # as sam2 with one memory frame still reads them)
        self._capacity = max(n_hist, max_obj_ptrs - 1)
        self.last_confident = prompt_entry  # the newest entry a policy trusted (``ConfidentFrames``)
        self._anchor_key: int | None = None  # the frame key of the anchor entry in ``_cond``, if any
        self.anchor_frames = np.full(self.batch_size, prompt_frame)  # [B] each object's newest anchor frame
        #                                                              (its prompt frame while it has none)

    @property
    def batch_size(self) -> int:
        """Number of objects B."""
        return self._cond[self.prompt_frame]["obj_ptr"].size(0)

    @property
    def keeps_spatial_memory(self) -> bool:
        """Whether recent frames' spatial memory is kept (n_hist > 0), not only their pointers."""
        return self._n_hist > 0

    def as_sam2_dict(self) -> dict:
        """The ``output_dict`` that sam2's memory selection reads."""
        return {"cond_frame_outputs": self._cond, "non_cond_frame_outputs": self._recent}

    def push(self, frame: int, entry: dict) -> None:
        """Add the newest frame's entry; trim and drop what memory attention will no longer read."""
        if self._capacity == 0:
            return
        self._recent[frame] = self.shared(entry)
        while len(self._recent) > self._capacity:
            self._recent.popitem(last=False)
        if len(self._recent) > self._n_hist:
            frames = list(self._recent)
            aged = frames[len(frames) - self._n_hist - 1]
            self._recent[aged] = {k: self._recent[aged][k] for k in POINTER_KEYS}

    def set_anchor(self, frame: int, entry: dict, rows: np.ndarray) -> None:
        """Objects ``rows`` ([B] bool) take this frame's ``entry`` as their anchor; the others keep theirs (their
        prompt memory while they have none). One anchor entry per bank, read as conditioning memory."""
        if not rows.any() or frame == self.prompt_frame:
            return
        base = self._cond[self._anchor_key if self._anchor_key is not None else self.prompt_frame]
        anchor = self.shared(blend_rows(rows, entry, base))
        if self._anchor_key is not None:
            del self._cond[self._anchor_key]
        self._cond[frame], self._anchor_key = anchor, frame
        self.anchor_frames = np.where(rows, frame, self.anchor_frames)

    def shared(self, entry: dict) -> dict:
        """``entry`` with the bank's one copy of the memory position encoding (when the shapes match)."""
        if "maskmem_pos_enc" in entry and [p.shape for p in entry["maskmem_pos_enc"]] == \
                [p.shape for p in self._pos_enc]:
            return {**entry, "maskmem_pos_enc": self._pos_enc}
        return entry

    def select(self, keep: torch.Tensor) -> "MemoryBank":
        """A bank of only the objects at batch positions ``keep`` ([K] long)."""
        bank = MemoryBank.__new__(MemoryBank)
        bank.prompt_frame, bank._n_hist, bank._capacity = self.prompt_frame, self._n_hist, self._capacity
        prompt = _slice_entry(self._cond[self.prompt_frame], keep)
        bank._pos_enc = prompt["maskmem_pos_enc"]

        def sliced(entry: dict) -> dict:  # the selected objects, sharing the new bank's position encoding
            part = _slice_entry({k: v for k, v in entry.items() if k != "maskmem_pos_enc"}, keep)
            return {**part, "maskmem_pos_enc": bank._pos_enc} if "maskmem_pos_enc" in entry else part

        bank._cond = {f: prompt if f == self.prompt_frame else sliced(e) for f, e in self._cond.items()}
        bank.last_confident = sliced(self.last_confident)
        bank._anchor_key = self._anchor_key
        bank.anchor_frames = self.anchor_frames[keep.cpu().numpy()].copy()
        bank._recent = OrderedDict((f, sliced(e)) for f, e in self._recent.items())
        return bank

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor the bank holds, each once (for memory accounting; the position encoding is shared)."""
        found: dict[int, torch.Tensor] = {}
        for entry in [*self._cond.values(), *self._recent.values(), self.last_confident]:
            for value in entry.values():
                for tensor in value if isinstance(value, list) else [value]:
                    if torch.is_tensor(tensor):
                        found.setdefault(id(tensor), tensor)
        return list(found.values())

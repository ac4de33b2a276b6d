"""The streaming grasp tracker: one frame at a time in, grasps and masks for every tracked object out.

Objects are selected by prompts (boxes, clicks, masks) at any frame. Objects prompted on the same frame form
a cohort that runs as one batch through the decoder and memory (the image encoder runs once per frame for
all). A prompt without ``append`` re-targets: all memory is dropped and the prompt frame becomes the new
conditioning memory (SPGrasp, Mei et al. 2025, Sec. III-B). Each cohort's memory is a bounded
``MemoryBank`` filled and read by the tracker's ``MemorySelection`` (``memory_selection.RecentFrames``: sam2's
rule), so device memory is constant over any stream length.

One step, top to bottom (``_step``): check the prompt and plan the cohorts -> encode the image once ->
track every existing cohort from its memory -> start the prompted objects -> read the results out
(``readout``) -> commit: only then does the tracker's state (memory, windows, lost counters, ids) change, so
a step that raises leaves the tracker as it was.

Presence: an object is visible when sigmoid(object score) >= ``presence_threshold`` (0.5 = SAM 2's own rule,
object score logit > 0). SAM 2 empties the mask of an absent object and keeps writing memory, so the
object is picked up again when it reappears within the memory window.

Behaviour is ``TrackerConfig`` (``tracker.config``); ``precision`` is how the arithmetic runs (bf16 autocast
on CUDA, float32 on the CPU by default; ``load_tracker`` measures ``auto`` on a CPU, ``precision_probe``).
``tracker.optimised.OptimisedTracker`` is the compiled variant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from spgrasp_ros.devices import autocast, resolve_precision
from spgrasp_ros.grasps.frame_geometry import RESIZE, FrameGeometry
from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.model.spgrasp import HeadOutputs, SPGrasp
from spgrasp_ros.prompts import ObjectPrompt, Prompt, PromptError
from spgrasp_ros.timing import StageTimer, stage
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.distractor_anchors import AnchorRule, CandidateProbe, anchor_rows
from spgrasp_ros.tracker.duplicates import clear_losers, duplicate_losers
from spgrasp_ros.tracker.grasp_source import mask_rule, resolve_grasp_source
from spgrasp_ros.tracker.inputs import FrameError, check_frame, plain_upload, prompt_boxes, prompt_groups, prompt_inputs
from spgrasp_ros.tracker.memory_bank import MemoryBank
from spgrasp_ros.tracker.memory_selection import ConfidentFrames, MemorySelection
from spgrasp_ros.tracker.motion import BoxFilter, BoxTracks
from spgrasp_ros.tracker.object_tracks import ObjectTracks, about_whole, commit_tracks, predicted_boxes
from spgrasp_ros.tracker.preprocess import normalise_frame
from spgrasp_ros.tracker.readout import (
    MAX_OBJECT_ID,
    FrameObservation,
    TrackerOutput,
    empty_output,
    exclusive_heads,
    frame_output,
    pack_results,
    unpack_results,
)
from spgrasp_ros.tracker.search_window import box_iou, candidate_chooser, grow_boxes, mask_boxes, window_masks
from spgrasp_ros.tracker.steady_grasps import SteadyGrasps


class NotTrackingError(RuntimeError):
    """``step`` without a prompt while no object is tracked."""


@dataclass
class _Cohort:
    ids: list[int]
    bank: MemoryBank  # also holds the prompt frame
    tracks: ObjectTracks  # lost counters, usual areas, box filter (host side)
    prior: torch.Tensor | None = None  # [B, 1, h, w] last found masks (models with mask_prior), else None
    boxes: torch.Tensor | None = None  # [B, 4] model px, last found box per object (NaN: none yet)


@dataclass
class _Pending:
    """What one step computed for one cohort and commits at its end."""

    cohort: _Cohort
    heads: HeadOutputs
    entry: dict | None  # the memory entry to commit (None: a new cohort, whose bank already holds it)
    prior: torch.Tensor | None
    predicted: BoxTracks | None = None  # the box filter's prediction for this frame (motion on)
    predicted_boxes: torch.Tensor | None = None  # [B, 4] model px, the same as boxes (NaN rows: none)
    probe: CandidateProbe | None = None  # what the candidate choice saw (memory anchors on)


class GraspTracker:
    """Streaming SPGrasp tracker for one camera. Not thread-safe: call from one thread."""

    def __init__(self, model: SPGrasp, model_config: ModelConfig, config: TrackerConfig | None = None,
                 device: str | torch.device | None = None, precision: str = "auto",
                 memory_selection: MemorySelection | None = None) -> None:
        """``device``: where the model runs (moved there; default: where it is). ``precision``: ``auto`` (bf16
        autocast on CUDA, float32 on the CPU), ``float32`` or ``bfloat16``. ``memory_selection``: the memory
        policy (default ``RecentFrames``, sam2's). Build trackers with ``tracker.build.build_tracker``."""
        if device is not None:
            device = torch.device(device)
            if device.type == "cuda" and not torch.cuda.is_available():
                raise RuntimeError(f"device {device} requested but CUDA is not available (torch {torch.__version__})")
            model = model.to(device)
        if model.num_maskmem != model_config.n_hist + 1:  # else sam2 would read frames the bank no longer holds
            raise ValueError(f"the model was built for n_hist={model.num_maskmem - 1}, the config says "
                             f"n_hist={model_config.n_hist}: build the model from the config (for a checkpoint: "
                             "load_checkpoint(path, n_hist=...))")
        self.model = model.eval()
        self.model_config = model_config
        self.config = config if config is not None else TrackerConfig()
        self.device = next(model.parameters()).device
        resolve_precision(precision, self.device)  # refuses unknown names now, not at the first frame
        self.precision = precision
        # ConfidentFrames is sam2's RecentFrames while every frame is confident (memory_gate off)
        self.memory_selection: MemorySelection = memory_selection or ConfidentFrames()
        self.motion = BoxFilter()
        self.steady = SteadyGrasps()  # used while config.steady_grasps
        self.anchor_rule = AnchorRule()  # used while config.memory_anchors
        self.timer: StageTimer | None = None  # set to time the stages of each step (``spgrasp bench``)
        self._cohorts: list[_Cohort] = []
        self._frame_index = -1  # index of the last processed frame
        self._next_id = 1
        self._region: tuple[tuple, torch.Tensor] | None = None  # letterbox content mask of the last geometry
        self.precision_choice = None  # how ``auto`` was decided (tracker.precision_probe), when it was measured
        self.grasp_head_trained, self.checkpoint_name = True, "the checkpoint"  # the checkpoint's (load_tracker)

    @property
    def grasp_source(self) -> str:
        """Where grasps come from now, ``model`` or ``geometry`` (``config.grasp_source`` resolved against the
        head's training; UntrainedHeadError for ``model`` on an untrained head)."""
        return resolve_grasp_source(self.config.grasp_source, self.grasp_head_trained, self.checkpoint_name)[0]

    # --- state --------------------------------------------------------------------------------------------
    @property
    def object_ids(self) -> list[int]:
        """Ids of the tracked objects, ascending."""
        return sorted(i for c in self._cohorts for i in c.ids)

    @property
    def frame_index(self) -> int:
        """Index of the last processed frame (-1 before the first)."""
        return self._frame_index

    @property
    def memory_fill_levels(self) -> int:
        """How many memory lengths memory attention sees after a prompt: one per number of recent frames
        kept, 0 .. max(n_hist, max_obj_ptrs - 1) (the bank's capacity); constant from then on."""
        n_hist, pointers = self.model_config.n_hist, self.model_config.max_obj_ptrs
        return 1 + max(n_hist, pointers - 1)

    def state_tensors(self) -> list[torch.Tensor]:
        """Every tensor of the streaming state (constant in number and size over a stream)."""
        return [t for c in self._cohorts for t in (*c.bank.tensors(), c.prior, c.boxes) if t is not None]

    def reset(self, restart_ids: bool = False) -> None:
        """Stop tracking everything; ids and frame indices keep counting up unless ``restart_ids`` (the next
        object is 1 again, the next frame 0: a fresh start, as after warm-up)."""
        self._cohorts = []
        self.steady.reset()
        if restart_ids:
            self._next_id, self._frame_index = 1, -1

    def apply_without_frame(self, prompt: Prompt) -> None:
        """Apply a request that creates nothing (``Prompt.creates_nothing``: a clearing request or removals
        only) at once, without a frame; validated first (PromptError, nothing changes)."""
        if not prompt.creates_nothing:
            raise PromptError("this prompt creates objects: it needs a frame (use step)")
        prompt.validate(None, self.object_ids)
        if prompt.is_clear:
            self.reset()
        else:
            self.remove(list(prompt.remove_ids))

    def remove(self, object_ids: list[int]) -> None:
        """Stop tracking some objects; the others keep their memory. Unknown ids raise PromptError."""
        unknown = sorted(set(object_ids) - set(self.object_ids))
        if unknown:
            raise PromptError(f"cannot remove unknown object id(s) {unknown}; tracked: {self.object_ids}")
        self._cohorts = self._without(self._cohorts, set(object_ids))
        self.steady.forget(object_ids)

    def _without(self, cohorts: list[_Cohort], drop: set[int]) -> list[_Cohort]:
        kept = []
        for cohort in cohorts:
            keep = [j for j, i in enumerate(cohort.ids) if i not in drop]
            if len(keep) == len(cohort.ids):
                kept.append(cohort)
            elif keep:
                index = torch.tensor(keep, device=self.device)
                kept.append(_Cohort([cohort.ids[j] for j in keep], cohort.bank.select(index),
                                    cohort.tracks.select(keep),
                                    cohort.prior[index] if cohort.prior is not None else None,
                                    cohort.boxes[index] if cohort.boxes is not None else None))
        return kept

    # --- the per-frame step --------------------------------------------------------------------------------
    @torch.inference_mode()
    def step(self, frame: np.ndarray | torch.Tensor, prompt: Prompt | None = None,
             depth: tuple[np.ndarray, float] | None = None) -> TrackerOutput:
        """Process one frame: a numpy HxWx3 uint8 RGB array, or such a tensor on the tracker's device.

        ``prompt`` is applied on this frame before tracking (validated first: a bad prompt raises PromptError
        and changes nothing). ``depth``: ([H, W] metres registered to the frame, fx [px]) for grasps from mask
        geometry (their opening limit and contact flatness). Returns the frame's grasps, object states and
        [N, H, W] masks at input resolution. Raises FrameError for a bad frame, NotTrackingError without any
        object.
        """
        start = time.perf_counter()
        tensor, image_size = check_frame(frame, self.device, self._upload)
        geometry = self._geometry(image_size)
        with stage(self.timer, "preprocess"):
            image = normalise_frame(tensor, geometry)
        return self._step(image, geometry, prompt, start, depth)

    @torch.inference_mode()
    def step_preprocessed(self, image: torch.Tensor, image_size: tuple[int, int], prompt: Prompt | None = None
                          ) -> TrackerOutput:
        """As ``step`` for an already preprocessed [3, S, S] or [1, 3, S, S] float image of an input of
        ``image_size`` (W, H) (e.g. frames prepared exactly as another implementation prepares them)."""
        image = image.to(self.device, torch.float32)
        image = image[None] if image.ndim == 3 else image
        size = self.model_config.image_size
        if image.shape != (1, 3, size, size):
            raise FrameError(f"preprocessed images must be [1, 3, {size}, {size}], got {list(image.shape)}")
        return self._step(image, self._geometry(image_size), prompt, time.perf_counter())

    def _step(self, image: torch.Tensor, geometry: FrameGeometry, prompt: Prompt | None, start: float,
              depth: tuple[np.ndarray, float] | None = None) -> TrackerOutput:
        frame_index = self._frame_index + 1
        cohorts, new_objects = self._plan(prompt, geometry)
        if not cohorts and not new_objects:  # a clearing prompt: nothing left to track
            self._cohorts, self._frame_index = [], frame_index
            return empty_output(geometry, frame_index, start)

        ids, next_id = self._new_ids(new_objects)  # in the prompt's order, whatever the batching
        with self._frame_context(prompted=bool(new_objects)):
            with stage(self.timer, "image_encoder"):
                backbone = self.model.forward_image(image)
            pending = [self._track(cohort, backbone, frame_index, geometry) for cohort in cohorts]
            lost = self._frames_lost()
            for group in prompt_groups(new_objects):
                pending.append(self._start([new_objects[i] for i in group], backbone, frame_index, geometry,
                                           [ids[i] for i in group], lost))
            with stage(self.timer, "grasp_decode"):
                heads = [p.heads for p in pending]
                losers = self._resolve_duplicates(pending, heads) if self.config.resolve_duplicates else None
                readout = exclusive_heads(self.model, heads, geometry) if self.config.exclusive_masks else heads
                output, observation = frame_output(
                    [i for p in pending for i in p.cohort.ids],
                    np.concatenate([p.cohort.tracks.frames_lost for p in pending]),
                    [p.cohort.bank.prompt_frame for p in pending for _ in p.cohort.ids],
                    self._read_out(readout, geometry), geometry, frame_index, start,
                    self.config.presence_threshold, self.config.decode.jaw_ratio,
                    np.concatenate([p.cohort.tracks.reference_area for p in pending]), self.config.min_area_ratio,
                    mask_rule(self.config, self.grasp_source, depth))

        self._commit(pending, readout, observation, frame_index, losers)
        self._next_id = next_id
        if self.config.steady_grasps:  # objects gone from the result are forgotten there
            output.result = self.steady.update(output.result)
        output.created_ids = ids
        return output

    def _new_ids(self, objects: list[ObjectPrompt]) -> tuple[list[int], int]:
        """(the id of each prompted object: a re-seeded one keeps its own, a new one takes the next free one;
        the next free id after them)."""
        ids, next_id = [], self._next_id
        for obj in objects:
            ids.append(obj.object_id if obj.object_id is not None else next_id)
            next_id += obj.object_id is None
        if next_id - 1 > MAX_OBJECT_ID:
            raise PromptError(f"object ids are used up ({MAX_OBJECT_ID} per configuration; the mask is 16-bit): "
                              "clean up and configure the tracker again to restart them")
        return ids, next_id

    def _frames_lost(self) -> dict[int, int]:
        """Object id -> its frames lost before this frame."""
        return {i: int(n) for c in self._cohorts for i, n in zip(c.ids, c.tracks.frames_lost)}

    def _plan(self, prompt: Prompt | None, geometry: FrameGeometry) -> tuple[list[_Cohort], list[ObjectPrompt]]:
        """(the cohorts this frame tracks, the objects it starts); nothing changes yet."""
        if prompt is None:
            if not self._cohorts:
                raise NotTrackingError("no object is tracked: prompt with boxes, clicks or masks first")
            return list(self._cohorts), []
        prompt.validate(geometry.input_size, self.object_ids)
        if prompt.text:
            raise PromptError("the tracker takes boxes, clicks and masks; resolve text with the detector first")
        cohorts = [] if prompt.replaces_tracked_set else list(self._cohorts)
        return self._without(cohorts, set(prompt.remove_ids) | set(prompt.reseeded_ids)), prompt.objects()

    def _track(self, cohort: _Cohort, backbone: dict, frame_index: int, geometry: FrameGeometry) -> _Pending:
        """One existing cohort on this frame, conditioned on its memory (and, with motion, its prediction)."""
        features = self.model.frame_features(backbone, len(cohort.ids))
        window_boxes, choose, predicted, model_boxes = cohort.boxes, None, None, None
        if self.config.motion:
            predicted, boxes = predicted_boxes(cohort.tracks, self.motion)
            corners = geometry.points_to_model(boxes.reshape(-1, 2)).reshape(-1, 4)
            model_boxes = torch.as_tensor(corners, dtype=torch.float32).to(self.device, non_blocking=True)
            window_boxes = model_boxes if cohort.boxes is None else \
                torch.where(torch.isnan(model_boxes), cohort.boxes, model_boxes)
            if self.config.motion_weight > 0:
                choose = candidate_chooser(model_boxes, self.config.motion_weight, self.model_config.image_size)
        probe = CandidateProbe(choose, self.model_config.image_size, self.anchor_rule) \
            if self.config.memory_anchors else None
        heads, entry = self.model.step(frame_index, features, self.memory_selection.memory(cohort.bank, frame_index),
                                       is_prompt_frame=False, timer=self.timer, prior=cohort.prior,
                                       window=self._window(window_boxes, cohort.tracks.frames_unmeasured
                                                           if self.config.motion else cohort.tracks.frames_missing),
                                       choose=probe or choose)
        return _Pending(cohort, heads, entry, self.model.update_mask_prior(cohort.prior, heads), predicted,
                        model_boxes, probe)

    def _start(self, group: list[ObjectPrompt], backbone: dict, frame_index: int, geometry: FrameGeometry,
               ids: list[int], lost: dict[int, int]) -> _Pending:
        """A new cohort from one prompt group: its prompt frame becomes its conditioning memory. A re-seeded
        object (its id in ``lost``, id -> frames lost) keeps its lost count, so it is reported reacquired."""
        features = self.model.frame_features(backbone, len(group))
        points, masks = prompt_inputs(group, geometry, self.device)
        boxes = prompt_boxes(points, len(group))
        heads, entry = self.model.step(frame_index, features, {}, is_prompt_frame=True, point_inputs=points,
                                       mask_inputs=masks, timer=self.timer,
                                       window=self._window(boxes, np.zeros(len(group), np.int64)))
        bank = self.memory_selection.new_bank(frame_index, entry, self.model_config)
        tracks = ObjectTracks.new(len(group))
        tracks.frames_lost[:] = [lost.get(i, 0) for i in ids]
        cohort = _Cohort(ids, bank, tracks,
                         boxes=boxes if self.config.search_window > 0 else None)
        return _Pending(cohort, heads, None, self.model.update_mask_prior(None, heads))

    def _resolve_duplicates(self, pending: list[_Pending], heads: list[HeadOutputs]) -> np.ndarray | None:
        """Clear (in ``heads``, in place) the objects that lose a duplicate (``duplicates``); returns [N] bool
        losers in batch order, or None when there are fewer than 2 objects. The mask prior, made from the
        model's own mask before the read-out, is left as it is."""
        if sum(len(p.cohort.ids) for p in pending) < 2:
            return None
        nan = torch.tensor(float("nan"), device=self.device)
        predicted = torch.cat([p.predicted_boxes if p.predicted_boxes is not None else
                               nan.expand(len(p.cohort.ids), 4) for p in pending])
        prompted = torch.cat([torch.full((len(p.cohort.ids),), p.entry is None, device=self.device) for p in pending])
        losers = duplicate_losers(torch.cat([h.object_logits for h in heads]), predicted,
                                  torch.cat([h.object_score_logits[:, 0].float() for h in heads]), prompted,
                                  self.model_config.image_size, self.config.duplicate_iou)
        position = 0
        for k, item in enumerate(pending):
            rows = losers[position:position + len(item.cohort.ids)]
            position += len(item.cohort.ids)
            if bool(rows.any()):
                heads[k] = clear_losers(heads[k], rows, self.model_config.image_size)
        return losers.cpu().numpy()

    def _commit(self, pending: list[_Pending], readout: list[HeadOutputs], observation: FrameObservation,
                frame_index: int, losers: np.ndarray | None = None) -> None:
        """The step's results become the tracker's state: memory, mask priors, search windows, object tracks.
        ``losers`` [N] bool: objects that lost a duplicate this frame (their memory repeats its last confident
        entry)."""
        position = 0
        for item, out in zip(pending, readout):
            cohort = item.cohort
            part = slice(position, position + len(cohort.ids))
            visible = observation.visible[part]
            # the window follows the mask as read out: with exclusive masks only the pixels the object holds
            # against the others, so a track that strays onto a neighbour does not take its window there
            found_boxes, found = mask_boxes(out.object_logits, self.model_config.image_size) \
                if self.config.search_window > 0 or item.probe is not None else (None, None)
            if item.entry is not None:
                confident = visible if self.config.memory_gate else np.ones(len(cohort.ids), bool)
                if losers is not None:
                    confident = confident & ~losers[part]
                anchor = self._anchors(item, found_boxes, visible, observation.areas[part], frame_index)
                self.memory_selection.commit(cohort.bank, frame_index, item.entry, item.heads, confident, anchor)
            cohort.prior = item.prior
            if self.config.search_window > 0:
                old = cohort.boxes if cohort.boxes is not None else torch.full_like(found_boxes, float("nan"))
                cohort.boxes = torch.where(found[:, None], found_boxes, old)
            cohort.tracks = commit_tracks(cohort.tracks, item.predicted, self.motion if self.config.motion else None,
                                          visible, observation.found[part], observation.areas[part],
                                          observation.boxes[part])
            position += len(cohort.ids)
        self._cohorts, self._frame_index = [p.cohort for p in pending], frame_index

    def _anchors(self, item: _Pending, found_boxes: torch.Tensor, visible: np.ndarray, areas: np.ndarray,
                 frame_index: int) -> np.ndarray | None:
        """[B] bool: the objects whose distractor anchor this frame becomes (``distractor_anchors``), or None."""
        if item.probe is None or item.probe.ambiguous is None:
            return None
        tracks = item.cohort.tracks
        whole = about_whole(tracks.found_once, areas, tracks.reference_area)
        agreement = np.full(len(visible), np.nan)
        if item.predicted_boxes is not None:
            known = ~torch.isnan(item.predicted_boxes).any(dim=1)
            agreement = torch.where(known, box_iou(found_boxes, torch.nan_to_num(item.predicted_boxes)),
                                    float("nan")).cpu().numpy()
        return anchor_rows(item.probe.ambiguous.cpu().numpy(), visible, whole, agreement,
                           frame_index - item.cohort.bank.anchor_frames, self.anchor_rule)

    def _window(self, boxes: torch.Tensor | None, frames_searching: np.ndarray) -> torch.Tensor | None:
        """[B, 1, h, w] search windows around ``boxes`` (NaN rows: anywhere) grown for ``frames_searching`` [B]
        int64 (frames without a find), or None when windows are off."""
        if self.config.search_window <= 0 or boxes is None:
            return None
        size = self.model_config.image_size
        lost = torch.from_numpy(frames_searching).to(boxes.device)
        grown = grow_boxes(torch.nan_to_num(boxes), self.config.search_window, self.config.search_growth, lost)
        windows = window_masks(grown, size, (size // 4, size // 4))
        return windows | torch.isnan(boxes).any(dim=1)[:, None, None, None]

    def _geometry(self, image_size: tuple[int, int]) -> FrameGeometry:
        return FrameGeometry(image_size, self.model_config.image_size, self.config.preprocess)

    # --- read-out -------------------------------------------------------------------------------------------
    def _read_out(self, heads: list[HeadOutputs], geometry: FrameGeometry) -> dict[str, np.ndarray]:
        """Every object's results on the host (``readout.unpack_results``)."""
        logits = torch.cat([h.object_logits for h in heads])
        letterbox = geometry.mode != RESIZE
        full = torch.cat([h.object_logits_full for h in heads]) if letterbox else None
        region = self._content_region(geometry, logits.shape[-2:]) if letterbox else None
        floats, bits = self._pack(logits, torch.cat([h.grasp_logits for h in heads]),
                                  torch.cat([h.object_score_logits for h in heads]), full, region,
                                  geometry.input_size, geometry.content_box if letterbox else None)
        return unpack_results(*self._to_host(floats, bits), geometry.input_size)

    def _content_region(self, geometry: FrameGeometry, map_size) -> torch.Tensor:
        """[h, w] bool on the device: the map cells inside the letterboxed image (kept for the last geometry)."""
        key = (geometry.input_size, geometry.model_size, geometry.mode, tuple(map_size))
        if self._region is None or self._region[0] != key:
            self._region = (key, torch.from_numpy(geometry.content_mask(*map_size)).to(self.device))
        return self._region[1]

    # --- what the optimised variant replaces ------------------------------------------------------------------
    def _upload(self, frame: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 array -> tensor on the device."""
        return plain_upload(frame, self.device)

    def _frame_context(self, prompted: bool):
        """The context one frame's model work runs in (autocast of the tracker's precision)."""
        return autocast(self.device, self.precision)

    def _pack(self, logits: torch.Tensor, grasp_logits: torch.Tensor, score_logits: torch.Tensor,
              full: torch.Tensor | None, region: torch.Tensor | None, input_size: tuple[int, int],
              content_box: tuple[int, int, int, int] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``readout.pack_results`` with this tracker's model size and decoding."""
        return pack_results(logits, grasp_logits, score_logits, full, region, input_size, content_box,
                            self.model_config.image_size, self.config.decode)

    def _to_host(self, floats: torch.Tensor, bits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Both packed blocks as numpy arrays (on the CPU: the same memory, nothing copied)."""
        return floats.cpu().numpy(), bits.cpu().numpy()

"""The streaming grasp tracker: one frame at a time in, grasps and masks for every tracked object out.

Objects are selected by prompts (boxes, clicks, masks) at any frame. Objects prompted on the same frame form
a cohort that runs as one batch through the decoder and memory (the image encoder runs once per frame for
all). A prompt without ``append`` re-targets: all memory is dropped and the prompt frame becomes the new
conditioning memory (SPGrasp, Mei et al. 2025, Sec. III-B). Memory per cohort is bounded
(``memory_bank.MemoryBank``), so device memory is constant over any stream length.

Presence: an object is visible when sigmoid(object score) >= ``presence_threshold`` (0.5 = SAM 2's own rule,
object score logit > 0). SAM 2 empties the mask of an absent object and keeps writing memory, so the
object is picked up again when it reappears within the memory window.

Optimised paths (``TrackerConfig``; all off by default, which is the eager path as it always was):
- ``precision``: bf16 autocast or float32 on either device ("auto": bf16 on CUDA, float32 on the CPU);
- ``compile``: torch.compile of the parts whose shapes stay fixed along a stream (image encoder, prompt
  encoder, mask/grasp decoder, memory encoder, output decoding) and of memory attention, whose memory grows
  while the FIFO fills: ``memory_shapes="dynamic"`` compiles it once with a symbolic memory length (sam2's
  own choice), ``"static"`` once per fill level (``memory_fill_levels`` of them per object count, compiled
  up front by ``prewarm``). Frames with a prompt run eagerly, so a prompt never waits for a compilation;
  compilations happen on the first prompt-free frames of a new object count (or in ``prewarm``) and
  their number is bounded whatever the stream length (``compile_counts``);
- ``one_copy``: the frame goes up from a pinned buffer without waiting, the results are packed on the
  device and come back in one copy: one host-device synchronisation per frame (on the CPU nothing is
  copied at all).
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from spgrasp_ros.grasps.decode import DecodeConfig, decode_grasps
from spgrasp_ros.grasps.frame_geometry import RESIZE, FrameGeometry
from spgrasp_ros.model.channels import activate
from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.model.spgrasp import HeadOutputs, SPGrasp
from spgrasp_ros.prompts import ObjectPrompt, Prompt, PromptError
from spgrasp_ros.results import FrameResult, Grasp, ObjectState
from spgrasp_ros.timing import StageTimer, stage
from spgrasp_ros.tracker.preprocess import normalise_frame
from spgrasp_ros.tracker.memory_bank import MemoryBank
from spgrasp_ros.tracker.search_window import grow_boxes, mask_boxes, window_masks



class FrameError(ValueError):
    """A frame the tracker cannot take (shape, dtype, size); nothing was changed."""


class NotTrackingError(RuntimeError):
    """``step`` without a prompt while no object is tracked."""


@dataclass(frozen=True)
class TrackerConfig:
    """Run-time settings of the tracker (tunable without rebuilding the model)."""

    preprocess: str = RESIZE  # "resize" (sam2's stretch to a square) or "letterbox"
    presence_threshold: float = 0.5  # visible when sigmoid(object score) >= this
    search_window: float = 0.0  # > 0: masks and grasps only within the last box grown by this x the object's
    #                             size (the prompt box on a box-prompt frame); 0 = off (search_window.py)
    search_growth: float = 0.25  # the window grows by this x the object's size per frame the object is lost
    exclusive_masks: bool = False  # each pixel belongs to at most one tracked object (the highest mask logit;
    #                                sam2's non-overlap constraint) before masks and grasps are read out and
    #                                the search windows follow the masks
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    precision: str = "auto"  # "auto" (bf16 autocast on CUDA, float32 on the CPU), "float32" or "bfloat16"
    compile: bool = False  # torch.compile the model parts and the output decoding (see the module notes)
    compile_mode: str = "default"  # torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune, ...
    compile_backend: str = "inductor"  # torch.compile backend ("aot_eager": trace without generating code)
    memory_shapes: str = "dynamic"  # compiled memory attention: "dynamic" memory length or "static" per fill level
    one_copy: bool = False  # pinned frame upload, results packed on the device and copied back at once

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.memory_shapes not in MEMORY_SHAPES:
            raise ValueError(f"memory_shapes must be one of {MEMORY_SHAPES}, got {self.memory_shapes!r}")


PRECISIONS = ("auto", "float32", "bfloat16")
MEMORY_SHAPES = ("dynamic", "static")


@dataclass
class TrackerOutput:
    """One frame's result: the ROS-facing record plus the masks.

    masks: [N, H, W] bool at input resolution, in the order of ``result.objects`` (ascending id);
    created_ids: the ids of the objects this frame's prompt created, in the prompt's order (boxes, clicks,
    masks).
    """

    result: FrameResult
    masks: np.ndarray
    created_ids: list[int] = field(default_factory=list)

    def label_image(self) -> np.ndarray:
        """[H, W] uint8 label image: pixel = id of the object whose mask covers it (ids above 255 read 255; where
        masks overlap the higher id wins), 0 = background. The inverse is ``masks_from_label_image``."""
        height, width = self.masks.shape[1:] if self.masks.ndim == 3 else self.result.image_size[::-1]
        labels = np.zeros((height, width), np.uint8)
        for state, mask in zip(self.result.objects, self.masks):
            labels[mask] = min(state.id, 255)
        return labels


def masks_from_label_image(labels: np.ndarray, result: FrameResult) -> np.ndarray | None:
    """[N, H, W] bool masks in the order of ``result.objects`` from an [H, W] label image
    (``TrackerOutput.label_image``), or None without objects."""
    return np.stack([labels == min(s.id, 255) for s in result.objects]) if result.objects else None


@dataclass
class _Cohort:
    ids: list[int]
    bank: MemoryBank  # also holds the prompt frame
    frames_lost: list[int]
    prior: torch.Tensor | None = None  # [B, 1, h, w] last found masks (models with mask_prior), else None
    boxes: torch.Tensor | None = None  # [B, 4] model px, last found box per object (NaN: none yet)


def _autocast(device: torch.device, precision: str = "auto"):
    if precision == "bfloat16" or (precision == "auto" and device.type == "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def _clone_outputs(value):
    """Tensors (also inside dicts, lists, tuples and dataclasses) cloned: CUDA-graph outputs are overwritten
    by the graph's next replay, and the tracker keeps some (memory entries) for later frames."""
    if torch.is_tensor(value):
        return value.clone()
    if isinstance(value, dict):
        return {k: _clone_outputs(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_outputs(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _clone_outputs(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value


class GraspTracker:
    """Streaming SPGrasp tracker for one camera. Not thread-safe: call from one thread."""

    def __init__(self, model: SPGrasp, model_config: ModelConfig, config: TrackerConfig = TrackerConfig(),
                 device: str | torch.device | None = None) -> None:
        """``device``: where the model runs (moved there; default: where it is). CUDA runs under bf16
        autocast, CPU in float32 (``config.precision`` chooses otherwise). With ``config.compile`` the model's
        parts are compiled in place (their ``forward`` replaced), so give each compiled tracker its own model."""
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
        self.config = config
        self.device = next(model.parameters()).device
        self._cohorts: list[_Cohort] = []
        self._frame_index = -1  # index of the last processed frame
        self._next_id = 1
        self.timer: StageTimer | None = None  # set to time the stages of each step (``spgrasp bench``)
        self._staging: tuple[torch.Tensor, torch.cuda.Event] | None = None  # pinned frame buffer (one_copy, CUDA)
        self._download: torch.Tensor | None = None  # pinned result buffer (one_copy, CUDA)
        self._region: tuple[tuple, torch.Tensor] | None = None  # letterbox content mask of the last geometry
        self._results = self._results_on_device  # compiled in _compile with the model's parts
        self._compiled: dict[str, object] = {}  # part name -> its original (uncompiled) function
        if config.compile:
            self._compile()

    # --- state --------------------------------------------------------------------------------------------
    @property
    def object_ids(self) -> list[int]:
        """Ids of the tracked objects, ascending."""
        return sorted(i for c in self._cohorts for i in c.ids)

    @property
    def frame_index(self) -> int:
        """Index of the last processed frame (-1 before the first)."""
        return self._frame_index

    def state_tensors(self) -> list[torch.Tensor]:
        """Every tensor of the streaming state (constant in number and size over a stream)."""
        return [t for c in self._cohorts for t in (*c.bank.tensors(), c.prior, c.boxes) if t is not None]

    def reset(self, restart_ids: bool = False) -> None:
        """Stop tracking everything; ids keep counting up unless ``restart_ids`` (the next object is 1 again)."""
        self._cohorts = []
        if restart_ids:
            self._next_id = 1

    def remove(self, object_ids: list[int]) -> None:
        """Stop tracking some objects; the others keep their memory. Unknown ids raise PromptError."""
        unknown = sorted(set(object_ids) - set(self.object_ids))
        if unknown:
            raise PromptError(f"cannot remove unknown object id(s) {unknown}; tracked: {self.object_ids}")
        self._cohorts = self._without(self._cohorts, set(object_ids))

    def _without(self, cohorts: list[_Cohort], drop: set[int]) -> list[_Cohort]:
        kept = []
        for cohort in cohorts:
            keep = [j for j, i in enumerate(cohort.ids) if i not in drop]
            if len(keep) == len(cohort.ids):
                kept.append(cohort)
            elif keep:
                index = torch.tensor(keep, device=self.device)
                kept.append(_Cohort([cohort.ids[j] for j in keep], cohort.bank.select(index),
                                    [cohort.frames_lost[j] for j in keep],
                                    cohort.prior[index] if cohort.prior is not None else None,
                                    cohort.boxes[index] if cohort.boxes is not None else None))
        return kept

    # --- input --------------------------------------------------------------------------------------------
    def _check_frame(self, frame) -> tuple[torch.Tensor, tuple[int, int]]:
        """-> [1, 3, H, W] uint8 on the device, (W, H)."""
        if isinstance(frame, np.ndarray):
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise FrameError(f"frames must be HxWx3 uint8 RGB, got {frame.dtype} array of shape {list(frame.shape)}")
            tensor = self._upload(frame)
        elif torch.is_tensor(frame):
            if frame.dtype != torch.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise FrameError(f"frame tensors must be HxWx3 uint8 RGB, got {frame.dtype} of shape {list(frame.shape)}")
            if frame.device != self.device:
                raise FrameError(f"frame tensor is on {frame.device}, the tracker on {self.device}")
            tensor = frame
        else:
            raise FrameError(f"frames must be numpy arrays or torch tensors, got {type(frame).__name__}")
        height, width = tensor.shape[:2]
        if height < 2 or width < 2:
            raise FrameError(f"frame of {width}x{height} pixels is too small")
        return tensor.permute(2, 0, 1).unsqueeze(0), (int(width), int(height))

    def preprocess(self, frame: torch.Tensor, geometry: FrameGeometry) -> torch.Tensor:
        """[1, 3, H, W] uint8 -> [1, 3, S, S] normalised float32 (``preprocess.normalise_frame``)."""
        return normalise_frame(frame, geometry)

    def _geometry(self, image_size: tuple[int, int]) -> FrameGeometry:
        return FrameGeometry(image_size, self.model_config.image_size, self.config.preprocess)

    # --- the per-frame step --------------------------------------------------------------------------------
    @torch.inference_mode()
    def step(self, frame, prompt: Prompt | None = None) -> TrackerOutput:
        """Process one frame (numpy HxWx3 uint8 RGB, or such a tensor on the tracker's device).

        ``prompt`` is applied on this frame before tracking (validated first: a bad prompt raises PromptError
        and changes nothing). Raises FrameError for a bad frame, NotTrackingError without any object.
        """
        start = time.perf_counter()
        tensor, image_size = self._check_frame(frame)
        geometry = self._geometry(image_size)
        with stage(self.timer, "preprocess"):
            image = self.preprocess(tensor, geometry)
        return self._step(image, geometry, prompt, start)

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

    def _step(self, image: torch.Tensor, geometry: FrameGeometry, prompt: Prompt | None, start: float) -> TrackerOutput:
        frame_index = self._frame_index + 1
        cohorts = list(self._cohorts)
        next_id = self._next_id
        new_objects: list[ObjectPrompt] = []
        if prompt is not None:
            prompt.validate(geometry.input_size, self.object_ids)
            if prompt.text:
                raise PromptError("the tracker takes boxes, clicks and masks; resolve text with the detector first")
            if not prompt.append:
                cohorts = []
            cohorts = self._without(cohorts, set(prompt.remove_ids))
            new_objects = prompt.objects()
        if not cohorts and not new_objects:
            if prompt is not None:  # a clearing prompt: nothing left to track
                self._cohorts, self._frame_index = [], frame_index
                return self._empty_output(geometry, frame_index, start)
            raise NotTrackingError("no object is tracked: prompt with boxes, clicks or masks first")

        if self.config.compile and self.config.compile_mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()  # this frame's graph replays may reuse last frame's buffers
        eager = torch.compiler.set_stance("force_eager") if self.config.compile and new_objects else nullcontext()
        with _autocast(self.device, self.config.precision), eager:  # prompt frames never wait for a compilation
            with stage(self.timer, "image_encoder"):
                backbone = self.model.forward_image(image)
            heads: list[HeadOutputs] = []
            pushes: list[tuple[MemoryBank, dict]] = []
            priors: list[torch.Tensor | None] = []
            for cohort in cohorts:
                features = self.model.frame_features(backbone, len(cohort.ids))
                out, entry = self.model.step(frame_index, features, cohort.bank.as_sam2_dict(), is_prompt_frame=False,
                                             timer=self.timer, prior=cohort.prior,
                                             window=self._window(cohort.boxes, cohort.frames_lost))
                heads.append(out)
                pushes.append((cohort.bank, entry))
                priors.append(self.model.update_mask_prior(cohort.prior, out))
            for group in self._prompt_groups(new_objects):
                features = self.model.frame_features(backbone, len(group))
                points, masks = self._prompt_inputs(group, geometry)
                prompt_boxes = self._prompt_boxes(points, len(group))
                out, entry = self.model.step(frame_index, features, {}, is_prompt_frame=True,
                                             point_inputs=points, mask_inputs=masks, timer=self.timer,
                                             window=self._window(prompt_boxes, [0] * len(group)))
                ids = list(range(next_id, next_id + len(group)))
                next_id += len(group)
                bank = MemoryBank(frame_index, entry, self.model_config.n_hist, self.model_config.max_obj_ptrs)
                cohorts.append(_Cohort(ids, bank, [0] * len(group), self.model.update_mask_prior(None, out),
                                       prompt_boxes if self.config.search_window > 0 else None))
                heads.append(out)
            with stage(self.timer, "grasp_decode"):
                readout = self._exclusive(heads, geometry) if self.config.exclusive_masks else heads
                output, frames_lost = self._outputs(cohorts, readout, geometry, frame_index, start)

        # commit: only now does the tracker's state change
        for bank, entry in pushes:
            bank.push(frame_index, entry)
        for cohort, prior in zip(cohorts, priors):  # the new cohorts made their prior above
            cohort.prior = prior
        if self.config.search_window > 0:
            # each window follows its object's mask as read out: with exclusive masks, only the pixels the
            # object holds against the others, so a track that strays onto a neighbour does not take its
            # window there (held-out first-frame accuracy 87.8 -> 92.1 %, bundled model, 100 sequences)
            for cohort, out in zip(cohorts, readout):
                found_boxes, found = mask_boxes(out.object_logits, self.model_config.image_size)
                old = cohort.boxes if cohort.boxes is not None else torch.full_like(found_boxes, float("nan"))
                cohort.boxes = torch.where(found[:, None], found_boxes, old)
        position = 0
        for cohort in cohorts:
            cohort.frames_lost = frames_lost[position:position + len(cohort.ids)]
            position += len(cohort.ids)
        self._cohorts, self._frame_index, self._next_id = cohorts, frame_index, next_id
        output.created_ids = list(range(self._next_id - len(new_objects), self._next_id))
        return output

    def _exclusive(self, heads: list[HeadOutputs], geometry: FrameGeometry) -> list[HeadOutputs]:
        """``heads`` of all cohorts with sam2's non-overlap constraint across every tracked object: where another
        object's mask logit is higher, an object's logit is clamped to -10, so neither its mask nor its grasps
        (``decode_grasps`` keeps grasps inside the mask) reach a pixel that another object claims more strongly.
        The memory keeps each object's own mask (sam2's default, non_overlap_masks_for_mem_enc false)."""
        counts = [h.object_logits.shape[0] for h in heads]
        if sum(counts) < 2:
            return heads
        logits = self.model._apply_non_overlapping_constraints(torch.cat([h.object_logits for h in heads]))
        size = self.model_config.image_size
        readout = []
        for head, low in zip(heads, logits.split(counts)):
            full = head.object_logits_full if geometry.mode == RESIZE else F.interpolate(
                low, size=(size, size), mode="bilinear", align_corners=False)
            readout.append(dataclasses.replace(head, object_logits=low, object_logits_full=full))
        return readout

    def _window(self, boxes: torch.Tensor | None, frames_lost: list[int]) -> torch.Tensor | None:
        """[B, 1, h, w] search windows around ``boxes`` (NaN rows: anywhere), or None when windows are off."""
        if self.config.search_window <= 0 or boxes is None:
            return None
        size = self.model_config.image_size
        lost = torch.tensor(frames_lost, device=boxes.device)
        grown = grow_boxes(torch.nan_to_num(boxes), self.config.search_window, self.config.search_growth, lost)
        windows = window_masks(grown, size, (size // 4, size // 4))
        return windows | torch.isnan(boxes).any(dim=1)[:, None, None, None]

    @staticmethod
    def _prompt_boxes(points: dict | None, count: int) -> torch.Tensor | None:
        """[B, 4] model px: each object's box prompt (labels 2 and 3), NaN for objects prompted otherwise."""
        if points is None:
            return None
        coords, labels = points["point_coords"], points["point_labels"]
        boxes = torch.full((count, 4), float("nan"), device=coords.device)
        has_box = (labels == 2).any(dim=1) & (labels == 3).any(dim=1)
        if has_box.any():
            start = coords[torch.arange(count), (labels == 2).int().argmax(dim=1)]
            end = coords[torch.arange(count), (labels == 3).int().argmax(dim=1)]
            boxes = torch.where(has_box[:, None], torch.cat([start, end], dim=1), boxes)
        return boxes

    @staticmethod
    def _prompt_groups(objects: list[ObjectPrompt]) -> list[list[ObjectPrompt]]:
        """Box/click objects batch together; mask objects batch together (different decoder inputs)."""
        by_points = [o for o in objects if o.mask is None]
        by_mask = [o for o in objects if o.mask is not None]
        return [g for g in (by_points, by_mask) if g]

    def _prompt_inputs(self, group: list[ObjectPrompt], geometry: FrameGeometry):
        """sam2 point inputs ({coords [B, P, 2] model px, labels [B, P]}) or mask inputs [B, 1, S, S]."""
        size = self.model_config.image_size
        if group[0].mask is not None:
            masks = np.stack([geometry.preprocess(o.mask.astype(np.float32)) for o in group])
            return None, torch.from_numpy(masks).to(self.device)[:, None] > 0.5
        rows, labels = [], []
        for obj in group:  # a box is two points labelled 2 (top-left) and 3 (bottom-right), before the clicks
            xy = [obj.box.reshape(2, 2)] if obj.box is not None else []
            rows.append(np.concatenate(xy + [obj.points.reshape(-1, 2)]).astype(np.float32))
            labels.append(([2, 3] if obj.box is not None else []) + obj.labels.tolist())
        width = max(len(r) for r in rows)
        coords = np.zeros((len(group), width, 2), dtype=np.float32)
        label_array = -np.ones((len(group), width), dtype=np.int32)  # -1: padding, ignored by the encoder
        for b, (xy, lab) in enumerate(zip(rows, labels)):
            coords[b, : len(xy)], label_array[b, : len(lab)] = xy, lab
        # input px -> model px in float32, in the order sam2's predictor uses (xy / [W, H] * S) for `resize`
        xy = torch.from_numpy(coords).to(self.device)
        scale_from = torch.tensor(geometry.input_size, dtype=torch.float32, device=self.device)
        scale_to = torch.tensor(geometry.resized_size, dtype=torch.float32, device=self.device)
        offset = torch.tensor(geometry.offset, dtype=torch.float32, device=self.device)
        xy = xy / scale_from * scale_to + offset if geometry.mode != RESIZE else xy / scale_from * size
        return {"point_coords": xy, "point_labels": torch.from_numpy(label_array).to(self.device)}, None

    # --- output ---------------------------------------------------------------------------------------------
    def _input_masks(self, heads: HeadOutputs, geometry: FrameGeometry) -> torch.Tensor:
        """[B, 1, h, w] logits -> [B, H, W] bool at input resolution (bilinear, as sam2's predictor)."""
        width, height = geometry.input_size
        if geometry.mode == RESIZE:
            logits = heads.object_logits
        else:
            x0, y0, x1, y1 = geometry.content_box
            logits = heads.object_logits_full[:, :, y0:y1, x0:x1]
        return F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)[:, 0] > 0

    def _host_per_tensor(self, heads: list[HeadOutputs], geometry: FrameGeometry) -> dict[str, np.ndarray]:
        """Grasps, presence, areas and masks of all objects on the host, one copy per result (the default)."""
        object_logits = torch.cat([h.object_logits for h in heads])
        grasp_logits = torch.cat([h.grasp_logits for h in heads])
        maps = activate(torch.cat([grasp_logits, object_logits], dim=1))
        region = None
        if geometry.mode != RESIZE:  # no grasp centre in the letterbox padding
            region = torch.from_numpy(geometry.content_mask(*maps.shape[-2:])).to(maps.device)
        decoded = decode_grasps(maps, self.model_config.image_size, self.config.decode, region)
        masks = torch.cat([self._input_masks(h, geometry) for h in heads])
        presence = torch.cat([h.object_score_logits for h in heads])[:, 0].float().sigmoid()
        rows, cols = masks.any(dim=2), masks.any(dim=1)
        host = {k: v.float().cpu().numpy() for k, v in dict(
            scores=decoded.scores, centers=decoded.centers, angles=decoded.angles, widths=decoded.widths,
            valid=decoded.valid, presence=presence, area=masks.sum(dim=(1, 2))).items()}
        host.update(rows=rows.cpu().numpy(), cols=cols.cpu().numpy(), masks=masks.cpu().numpy())
        return host

    def _host_packed(self, heads: list[HeadOutputs], geometry: FrameGeometry) -> dict[str, np.ndarray]:
        """As ``_host_per_tensor`` with one copy (``one_copy``): the results are packed on the device into
        one float32 block [N, 6K + 2] and one bool block [N, H*W + H + W], then copied back together."""
        logits = torch.cat([h.object_logits for h in heads])
        full = None if geometry.mode == RESIZE else torch.cat([h.object_logits_full for h in heads])
        region = None if geometry.mode == RESIZE else self._content_region(geometry, logits.shape[-2:])
        floats, bits = self._results(logits, torch.cat([h.grasp_logits for h in heads]),
                                     torch.cat([h.object_score_logits for h in heads]), full, region,
                                     geometry.input_size, None if geometry.mode == RESIZE else geometry.content_box)
        if self.device.type == "cuda":
            floats, bits = self._copy_to_host(floats, bits)
        else:
            floats, bits = floats.numpy(), bits.numpy()
        (n, k), (width, height) = (floats.shape[0], (floats.shape[1] - 2) // 6), geometry.input_size
        return {"scores": floats[:, :k], "centers": floats[:, k:3 * k].reshape(n, k, 2),
                "angles": floats[:, 3 * k:4 * k], "widths": floats[:, 4 * k:5 * k], "valid": floats[:, 5 * k:6 * k],
                "presence": floats[:, 6 * k], "area": floats[:, 6 * k + 1],
                "masks": bits[:, :height * width].reshape(n, height, width),
                "rows": bits[:, height * width:height * width + height], "cols": bits[:, height * width + height:]}

    def _results_on_device(self, logits: torch.Tensor, grasp_logits: torch.Tensor, score_logits: torch.Tensor,
                           full: torch.Tensor | None, region: torch.Tensor | None, input_size: tuple[int, int],
                           content_box: tuple[int, int, int, int] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The packed results of ``_host_packed`` from the decoder outputs of all N objects (logits [N, 1, h, w],
        grasp_logits [N, 4, h, w], score_logits [N, 1], full [N, 1, S, S] for letterboxed inputs); the same
        arithmetic as ``_host_per_tensor``. Compiled with the model when ``compile`` is on."""
        maps = activate(torch.cat([grasp_logits, logits], dim=1))
        decoded = decode_grasps(maps, self.model_config.image_size, self.config.decode, region)
        width, height = input_size
        if content_box is not None:
            x0, y0, x1, y1 = content_box
            logits = full[:, :, y0:y1, x0:x1]
        masks = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)[:, 0] > 0
        n = masks.shape[0]
        floats = torch.cat([decoded.scores.float(), decoded.centers.float().reshape(n, -1), decoded.angles.float(),
                            decoded.widths.float(), decoded.valid.float(), score_logits.float().sigmoid(),
                            masks.sum(dim=(1, 2))[:, None].float()], dim=1)
        bits = torch.cat([masks.reshape(n, -1), masks.any(dim=2), masks.any(dim=1)], dim=1)
        return floats, bits

    def _copy_to_host(self, floats: torch.Tensor, bits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Both blocks to the host in one copy through a reused pinned buffer: the frame's one synchronisation."""
        packed = torch.cat([floats.reshape(-1).view(torch.uint8), bits.reshape(-1).view(torch.uint8)])
        cuda = packed.device.type == "cuda"
        if self._download is None or self._download.numel() < packed.numel():
            self._download = torch.empty(packed.numel(), dtype=torch.uint8, pin_memory=cuda)
        host = self._download[:packed.numel()]
        host.copy_(packed, non_blocking=cuda)
        if cuda:
            torch.cuda.current_stream(packed.device).synchronize()
        array, split = host.numpy(), floats.numel() * 4
        # copies: the pinned buffer is reused by the next frame
        return (array[:split].view(np.float32).reshape(floats.shape).copy(),
                array[split:].view(np.bool_).reshape(bits.shape).copy())

    def _content_region(self, geometry: FrameGeometry, map_size) -> torch.Tensor:
        """[h, w] bool on the device: the map cells inside the letterboxed image (kept for the last geometry)."""
        key = (geometry.input_size, geometry.model_size, geometry.mode, tuple(map_size))
        if self._region is None or self._region[0] != key:
            mask = torch.from_numpy(geometry.content_mask(*map_size)).to(self.device)
            self._region = (key, mask)
        return self._region[1]

    def _upload(self, frame: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 array -> tensor on the device; with ``one_copy`` on CUDA through a reused pinned buffer
        without waiting for the copy (the frame's one synchronisation comes with the results)."""
        if not (self.config.one_copy and self.device.type == "cuda"):
            return torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)
        if self._staging is None or self._staging[0].shape != frame.shape:
            self._staging = (torch.empty(frame.shape, dtype=torch.uint8, pin_memory=True), torch.cuda.Event())
        buffer, uploaded = self._staging
        if not uploaded.query():  # the last upload from this buffer is still running (a frame that failed)
            uploaded.synchronize()
        buffer.numpy()[...] = frame
        tensor = buffer.to(self.device, non_blocking=True)
        uploaded.record()
        return tensor

    # --- compilation -----------------------------------------------------------------------------------------
    @property
    def memory_fill_levels(self) -> int:
        """How many memory lengths memory attention sees after a prompt: one per number of recent frames
        kept, 0 .. max(n_hist, max_obj_ptrs - 1) (the bank's capacity); constant from then on."""
        n_hist, pointers = self.model_config.n_hist, self.model_config.max_obj_ptrs
        return 1 + (0 if n_hist == 0 else max(n_hist, pointers - 1))

    def _compile(self) -> None:
        """Replace the parts' ``forward`` (and the output decoding) by compiled versions."""
        config, model = self.config, self.model
        if config.memory_shapes == "static":  # one graph per fill level and object count must fit the cache
            name = "recompile_limit" if hasattr(torch._dynamo.config, "recompile_limit") else "cache_size_limit"
            limit = max(getattr(torch._dynamo.config, name), 2 * self.memory_fill_levels + 4)
            setattr(torch._dynamo.config, name, limit)

        def compiled(owner, name: str, dynamic: bool):
            original = getattr(owner, name)
            mode = config.compile_mode if config.compile_backend == "inductor" else None  # modes are inductor's
            function = torch.compile(original, mode=mode, dynamic=dynamic, backend=config.compile_backend)
            if config.compile_mode == "reduce-overhead":
                function = (lambda f: lambda *a, **kw: _clone_outputs(f(*a, **kw)))(function)
            return original, function

        parts = {  # name: (owner, attribute, dynamic shapes)
            "image_encoder": (model.image_encoder, "forward", False),
            "memory_attention": (model.memory_attention, "forward", config.memory_shapes == "dynamic"),
            "prompt_encoder": (model.sam_prompt_encoder, "forward", False),
            "decoder": (model.sam_mask_decoder, "decode", False),
            "memory_encoder": (model.memory_encoder, "forward", False),
        }
        for name, (owner, attribute, dynamic) in parts.items():
            self._compiled[name], function = compiled(owner, attribute, dynamic)
            setattr(owner, attribute, function)
        self._compiled["outputs"], self._results = compiled(self, "_results_on_device", False)

    def compile_counts(self) -> dict[str, int]:
        """Graphs compiled so far per compiled part (each recompilation adds one; 0 for a part not reached
        yet; per code object, so trackers of the same model class in one process share them, until
        torch._dynamo.reset()), and torch._dynamo's cumulative process-wide counters ``graphs`` and
        ``graph_breaks``."""
        from torch._dynamo.eval_frame import _debug_get_cache_entry_list
        from torch._dynamo.utils import counters

        counts = {name: len(_debug_get_cache_entry_list(getattr(function, "__func__", function).__code__))
                  for name, function in self._compiled.items()}
        counts["graphs"] = int(counters["stats"]["unique_graphs"])
        counts["graph_breaks"] = int(sum(counters["graph_break"].values()))
        return counts

    def prewarm(self, image_size: tuple[int, int] = (640, 480), objects: int = 1) -> int:
        """Run a throw-away stream: ``objects`` box prompts on a frame of ``image_size`` (W, H), then one frame
        per memory fill level, so a compiled tracker compiles what that object count needs before the first
        real frame. The tracker's state (objects, memory, frame index, ids) is unchanged afterwards.
        Returns the number of frames run."""
        width, height = image_size
        side = max(2, min(width, height) // 4)
        boxes = [[x, y, x + side, y + side] for x, y in
                 (((i * side) % max(1, width - side), (i * side // 2) % max(1, height - side)) for i in range(objects))]
        frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        saved = (self._cohorts, self._frame_index, self._next_id, self.timer)
        try:
            self._cohorts, self._frame_index, self._next_id, self.timer = [], -1, 1, None
            self.step(frame, Prompt.create(boxes=boxes))
            for _ in range(self.memory_fill_levels + 1):
                self.step(frame)
        finally:
            self._cohorts, self._frame_index, self._next_id, self.timer = saved
        return self.memory_fill_levels + 2

    def _outputs(self, cohorts: list[_Cohort], heads: list[HeadOutputs], geometry: FrameGeometry,
                 frame_index: int, start: float) -> tuple[TrackerOutput, list[int]]:
        """The frame's output, and the updated lost-frame counters (in cohort order) to commit."""
        ids = [i for c in cohorts for i in c.ids]
        host = self._host_packed(heads, geometry) if self.config.one_copy else self._host_per_tensor(heads, geometry)
        rows, cols, masks_np = host["rows"], host["cols"], host["masks"]

        threshold = self.config.presence_threshold
        lost = [n for c in cohorts for n in c.frames_lost]
        prompt_frames = [c.bank.prompt_frame for c in cohorts for _ in c.ids]
        states, grasps = [], []
        centers, angles, widths = geometry.grasps_to_input(host["centers"].reshape(-1, 2), host["angles"].reshape(-1),
                                                           host["widths"].reshape(-1))
        k = host["scores"].shape[1]
        for b, object_id in enumerate(ids):
            visible = bool(host["presence"][b] >= threshold) and bool(host["area"][b] > 0)
            lost[b] = 0 if visible else lost[b] + 1
            bbox = (0.0, 0.0, 0.0, 0.0)
            if host["area"][b] > 0:
                ys, xs = np.flatnonzero(rows[b]), np.flatnonzero(cols[b])
                bbox = (float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1))
            states.append(ObjectState(object_id, visible, float(host["presence"][b]), int(host["area"][b]), bbox,
                                      frame_index - prompt_frames[b], lost[b]))
            if not visible:
                continue
            for j in range(k):
                if host["valid"][b, j]:
                    n = b * k + j
                    grasps.append(Grasp(object_id, float(host["scores"][b, j]),
                                        (float(centers[n, 0]), float(centers[n, 1])), float(angles[n]),
                                        float(widths[n]), float(widths[n] * self.config.decode.jaw_ratio)))
        order = np.argsort(ids, kind="stable")
        result = FrameResult(
            image_size=geometry.input_size, frame_index=frame_index,
            objects=tuple(states[i] for i in order),
            grasps=tuple(sorted(grasps, key=lambda g: -g.score)),
            processing_ms=(time.perf_counter() - start) * 1000.0,
        )
        return TrackerOutput(result, masks_np[order]), lost

    def _empty_output(self, geometry: FrameGeometry, frame_index: int, start: float) -> TrackerOutput:
        width, height = geometry.input_size
        result = FrameResult(geometry.input_size, frame_index, processing_ms=(time.perf_counter() - start) * 1000.0)
        return TrackerOutput(result, np.zeros((0, height, width), dtype=bool))

"""The streaming grasp tracker: one frame at a time in, grasps and masks for every tracked object out.

Objects are selected by prompts (boxes, clicks, masks) at any frame. Objects prompted on the same frame form
a cohort that runs as one batch through the decoder and memory (the image encoder runs once per frame for
all). A prompt without ``append`` re-targets: all memory is dropped and the prompt frame becomes the new
conditioning memory (SPGrasp, Mei et al. 2025, Sec. III-B). Memory per cohort is bounded
(``memory_bank.MemoryBank``), so device memory is constant over any stream length.

Presence: an object is visible when sigmoid(object score) >= ``presence_threshold`` (0.5 = SAM 2's own rule,
object score logit > 0). SAM 2 empties the mask of an absent object and keeps writing memory, so the
object is picked up again when it reappears within the memory window.
"""

from __future__ import annotations

import time
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



class FrameError(ValueError):
    """A frame the tracker cannot take (shape, dtype, size); nothing was changed."""


class NotTrackingError(RuntimeError):
    """``step`` without a prompt while no object is tracked."""


@dataclass(frozen=True)
class TrackerConfig:
    """Run-time settings of the tracker (tunable without rebuilding the model)."""

    preprocess: str = RESIZE  # "resize" (sam2's stretch to a square) or "letterbox"
    presence_threshold: float = 0.5  # visible when sigmoid(object score) >= this
    decode: DecodeConfig = field(default_factory=DecodeConfig)


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


@dataclass
class _Cohort:
    ids: list[int]
    bank: MemoryBank  # also holds the prompt frame
    frames_lost: list[int]
    prior: torch.Tensor | None = None  # [B, 1, h, w] last found masks (models with mask_prior), else None


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


class GraspTracker:
    """Streaming SPGrasp tracker for one camera. Not thread-safe: call from one thread."""

    def __init__(self, model: SPGrasp, model_config: ModelConfig, config: TrackerConfig = TrackerConfig(),
                 device: str | torch.device | None = None) -> None:
        """``device``: where the model runs (moved there; default: where it is). CUDA runs under bf16
        autocast, CPU in float32."""
        if device is not None:
            device = torch.device(device)
            if device.type == "cuda" and not torch.cuda.is_available():
                raise RuntimeError(f"device {device} requested but CUDA is not available (torch {torch.__version__})")
            model = model.to(device)
        self.model = model.eval()
        self.model_config = model_config
        self.config = config
        self.device = next(model.parameters()).device
        self._cohorts: list[_Cohort] = []
        self._frame_index = -1  # index of the last processed frame
        self._next_id = 1
        self.timer: StageTimer | None = None  # set to time the stages of each step (``spgrasp bench``)

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
        return [t for c in self._cohorts for t in (*c.bank.tensors(), *([c.prior] if c.prior is not None else []))]

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
                                    cohort.prior[index] if cohort.prior is not None else None))
        return kept

    # --- input --------------------------------------------------------------------------------------------
    def _check_frame(self, frame) -> tuple[torch.Tensor, tuple[int, int]]:
        """-> [1, 3, H, W] uint8 on the device, (W, H)."""
        if isinstance(frame, np.ndarray):
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise FrameError(f"frames must be HxWx3 uint8 RGB, got {frame.dtype} array of shape {list(frame.shape)}")
            tensor = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)
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

        with _autocast(self.device):
            with stage(self.timer, "image_encoder"):
                backbone = self.model.forward_image(image)
            heads: list[HeadOutputs] = []
            pushes: list[tuple[MemoryBank, dict]] = []
            priors: list[torch.Tensor | None] = []
            for cohort in cohorts:
                features = self.model.frame_features(backbone, len(cohort.ids))
                out, entry = self.model.step(frame_index, features, cohort.bank.as_sam2_dict(), is_prompt_frame=False,
                                             timer=self.timer, prior=cohort.prior)
                heads.append(out)
                pushes.append((cohort.bank, entry))
                priors.append(self.model.update_mask_prior(cohort.prior, out))
            for group in self._prompt_groups(new_objects):
                features = self.model.frame_features(backbone, len(group))
                points, masks = self._prompt_inputs(group, geometry)
                out, entry = self.model.step(frame_index, features, {}, is_prompt_frame=True,
                                             point_inputs=points, mask_inputs=masks, timer=self.timer)
                ids = list(range(next_id, next_id + len(group)))
                next_id += len(group)
                bank = MemoryBank(frame_index, entry, self.model_config.n_hist, self.model_config.max_obj_ptrs)
                cohorts.append(_Cohort(ids, bank, [0] * len(group), self.model.update_mask_prior(None, out)))
                heads.append(out)
            with stage(self.timer, "grasp_decode"):
                output, frames_lost = self._outputs(cohorts, heads, geometry, frame_index, start)

        # commit: only now does the tracker's state change
        for bank, entry in pushes:
            bank.push(frame_index, entry)
        for cohort, prior in zip(cohorts, priors):  # the new cohorts made their prior above
            cohort.prior = prior
        position = 0
        for cohort in cohorts:
            cohort.frames_lost = frames_lost[position:position + len(cohort.ids)]
            position += len(cohort.ids)
        self._cohorts, self._frame_index, self._next_id = cohorts, frame_index, next_id
        output.created_ids = list(range(self._next_id - len(new_objects), self._next_id))
        return output

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

    def _outputs(self, cohorts: list[_Cohort], heads: list[HeadOutputs], geometry: FrameGeometry,
                 frame_index: int, start: float) -> tuple[TrackerOutput, list[int]]:
        """The frame's output, and the updated lost-frame counters (in cohort order) to commit."""
        ids = [i for c in cohorts for i in c.ids]
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
        # one transfer of everything small to the host
        host = {k: v.float().cpu().numpy() for k, v in dict(
            scores=decoded.scores, centers=decoded.centers, angles=decoded.angles, widths=decoded.widths,
            valid=decoded.valid, presence=presence, area=masks.sum(dim=(1, 2))).items()}
        rows, cols = rows.cpu().numpy(), cols.cpu().numpy()
        masks_np = masks.cpu().numpy()

        threshold = self.config.presence_threshold
        lost = [n for c in cohorts for n in c.frames_lost]
        prompt_frames = [c.bank.prompt_frame for c in cohorts for _ in c.ids]
        states, grasps = [], []
        centers, angles, widths = geometry.grasps_to_input(host["centers"].reshape(-1, 2), host["angles"].reshape(-1),
                                                           host["widths"].reshape(-1))
        k = decoded.scores.shape[1]
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

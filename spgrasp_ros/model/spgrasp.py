"""SPGrasp: SAM 2 (``SAM2Base``) whose decoder also predicts grasp maps, stepped one frame at a time.

Everything SAM 2 does is SAM 2's own code: image encoder, memory attention over the memory bank
(``_prepare_memory_conditioned_features``), memory encoder (``_encode_new_memory``). What SPGrasp changes:
- the mask decoder also outputs the grasp maps (``grasp_decoder.GraspMaskDecoder``);
- ``forward_heads`` returns those maps beside SAM 2's mask, pointer and object score;
- ``memory_source`` chooses what the memory encoder sees: the object mask (as SAM 2 and the public SPGrasp
  code) or the grasp-position map (the paper's Eq. 3, H_t = (E_t, M_pos, O_t));
- ``dense_prompt`` optionally also draws a box or clicks as a mask prompt (``prompt_map``);
- ``mask_prior`` optionally gives the decoder, on frames without a prompt, the object's last found mask as a
  dense prompt (``update_mask_prior``): a strong hint for a small model trained from scratch, whose memory
  attention alone tells objects apart slowly. Off for the paper's presets.
The streaming state (memory banks) lives outside the model, in ``spgrasp_ros.tracker``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from sam2.modeling.sam2_base import NO_OBJ_SCORE, SAM2Base

from spgrasp_ros.model.grasp_decoder import GraspMaskDecoder
from spgrasp_ros.model.prompt_map import draw_prompt_map
from spgrasp_ros.timing import StageTimer, stage

CandidateChoice = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (mask logits [B, M, h, w], predicted
#                  IoU [B, M]) -> [B] index of the candidate to keep

MEMORY_FROM_OBJECT = "object"
MEMORY_FROM_POSITION = "position"


@dataclass
class HeadOutputs:
    """Per prompt b of a batch B, at 1/4 of the model input (h = w = image_size / 4) unless noted.

    object_logits: [B, 1, h, w] SAM 2's chosen mask (NO_OBJ_SCORE where the object is absent);
    object_logits_raw: [B, 1, h, w] the same mask before the absent-object replacement (for training losses);
    object_logits_full: [B, 1, S, S] the same, bilinearly upsampled to the model input;
    grasp_logits: [B, 4, h, w] position, cos 2θ, sin 2θ, width logits; obj_ptr: [B, C];
    object_score_logits: [B, 1] (> 0: present); iou: [B, 1] predicted IoU of the chosen mask.
    """

    object_logits: torch.Tensor
    object_logits_raw: torch.Tensor
    object_logits_full: torch.Tensor
    grasp_logits: torch.Tensor
    obj_ptr: torch.Tensor
    object_score_logits: torch.Tensor
    iou: torch.Tensor


@dataclass
class FrameFeatures:
    """Backbone output of one frame in sam2's flattened layout, batched for B objects.

    vision_feats / vision_pos: lists over feature levels of [HW, B, C]; feat_sizes: [(H, W)] per level.
    """

    vision_feats: list[torch.Tensor]
    vision_pos: list[torch.Tensor]
    feat_sizes: list[tuple[int, int]]

    @property
    def high_res_features(self) -> list[torch.Tensor] | None:
        """The finer FPN levels as [B, C, H, W] for the decoder, or None."""
        if len(self.vision_feats) == 1:
            return None
        return [x.permute(1, 2, 0).reshape(x.size(1), x.size(2), *s)
                for x, s in zip(self.vision_feats[:-1], self.feat_sizes[:-1])]


class SPGrasp(SAM2Base):
    """SAM 2 with the SPGrasp grasp decoder; all SAM2Base constructor arguments apply."""

    def __init__(self, *args, memory_source: str = MEMORY_FROM_OBJECT, grasp_refiner_channels: int = 0,
                 angle_refiner: bool = False, dense_prompt: bool = False, click_radius: float = 6.0,
                 mask_prior: bool = False, **kwargs) -> None:
        if memory_source not in (MEMORY_FROM_OBJECT, MEMORY_FROM_POSITION):
            raise ValueError(f"memory_source must be {MEMORY_FROM_OBJECT!r} or {MEMORY_FROM_POSITION!r}")
        self._grasp_refiner_channels = grasp_refiner_channels  # read by _build_sam_heads during super().__init__
        self._angle_refiner = angle_refiner
        super().__init__(*args, **kwargs)
        self.memory_source = memory_source  # which decoder output the memory encoder sees
        self.dense_prompt = dense_prompt  # also feed boxes/clicks as a drawn mask prompt
        self.click_radius = click_radius  # [model px] radius of a click in that map
        self.mask_prior = mask_prior  # feed the last found mask as a dense prompt on frames without a prompt

    def _build_sam_heads(self) -> None:
        super()._build_sam_heads()
        self.sam_mask_decoder = GraspMaskDecoder.from_mask_decoder(self.sam_mask_decoder,
                                                                   self._grasp_refiner_channels,
                                                                   self._angle_refiner)

    # --- per-frame pieces ------------------------------------------------------------------------------------
    def frame_features(self, backbone: dict, batch: int) -> FrameFeatures:
        """``forward_image`` output of one frame ([1, ...]) -> features expanded (not copied) to ``batch``."""
        backbone = {
            "backbone_fpn": [f.expand(batch, -1, -1, -1) for f in backbone["backbone_fpn"]],
            "vision_pos_enc": [p.expand(batch, -1, -1, -1) for p in backbone["vision_pos_enc"]],
        }
        _, feats, pos, sizes = self._prepare_backbone_features(backbone)
        return FrameFeatures(feats, pos, sizes)

    def forward_heads(self, pix_feat: torch.Tensor, high_res_features: list[torch.Tensor] | None,
                      point_inputs: dict | None, mask_inputs: torch.Tensor | None,
                      multimask_output: bool, choose: CandidateChoice | None = None) -> HeadOutputs:
        """Prompt encoder + decoder for B objects: SAM 2's mask, pointer and score, and the grasp maps.

        pix_feat: [B, C, H, W] memory-conditioned features; point_inputs: {"point_coords": [B, P, 2] model px,
        "point_labels": [B, P] int32 (1 fg, 0 bg, 2/3 box corners, -1 padding)} or None; mask_inputs:
        [B, 1, S, S] or None. Selection, absent-object masking and pointers follow ``SAM2Base._forward_sam_heads``;
        ``choose`` (optional) replaces SAM 2's pick among multimask candidates (the highest predicted IoU).
        """
        batch, device = pix_feat.size(0), pix_feat.device
        if point_inputs is None:
            coords = torch.zeros(batch, 1, 2, device=device)
            labels = -torch.ones(batch, 1, dtype=torch.int32, device=device)
        else:
            coords, labels = point_inputs["point_coords"], point_inputs["point_labels"]
        mask_prompt = None
        if mask_inputs is None and point_inputs is not None and self.dense_prompt:
            mask_prompt = draw_prompt_map(coords, labels, self.image_size, self.sam_prompt_encoder.mask_input_size,
                                          self.click_radius)
        elif mask_inputs is not None:
            mask_prompt = mask_inputs.float()
            if mask_prompt.shape[-2:] != self.sam_prompt_encoder.mask_input_size:
                mask_prompt = F.interpolate(mask_prompt, size=self.sam_prompt_encoder.mask_input_size,
                                            mode="bilinear", align_corners=False, antialias=True)
        sparse, dense = self.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=mask_prompt)
        decoder: GraspMaskDecoder = self.sam_mask_decoder
        out = decoder.decode(pix_feat, self.sam_prompt_encoder.get_dense_pe(), sparse, dense, high_res_features)
        masks, iou, tokens = decoder.select(out, multimask_output)

        present = out.object_score_logits > 0
        raw = masks.float()
        masks = torch.where(present[:, None, None], raw, NO_OBJ_SCORE) if self.pred_obj_scores else raw
        token = tokens[:, 0]
        if multimask_output:
            best = choose(raw, iou) if choose is not None else torch.argmax(iou, dim=-1)
            rows = torch.arange(batch, device=device)
            masks, raw, iou = masks[rows, best].unsqueeze(1), raw[rows, best].unsqueeze(1), iou[rows, best].unsqueeze(1)
            if tokens.size(1) > 1:
                token = tokens[rows, best]
        full = F.interpolate(masks, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)

        obj_ptr = self.obj_ptr_proj(token)
        if self.pred_obj_scores:
            weight = out.object_score_logits.sigmoid() if self.soft_no_obj_ptr else present.float()
            if self.fixed_no_obj_ptr:
                obj_ptr = weight * obj_ptr
            obj_ptr = obj_ptr + (1 - weight) * self.no_obj_ptr
        return HeadOutputs(masks, raw, full, out.grasp_logits.float(), obj_ptr, out.object_score_logits, iou)

    def step(self, frame_index: int, features: FrameFeatures, memory: dict, is_prompt_frame: bool,
             point_inputs: dict | None = None, mask_inputs: torch.Tensor | None = None,
             num_frames: int = 1 << 30, timer: StageTimer | None = None,
             prior: torch.Tensor | None = None, window: torch.Tensor | None = None,
             choose: CandidateChoice | None = None) -> tuple[HeadOutputs, dict]:
        """One frame for B objects that share a memory bank; returns the heads and the new memory entry.

        memory: {"cond_frame_outputs": {frame: entry}, "non_cond_frame_outputs": {frame: entry}} with entries
        as returned here (sam2's layout). On a prompt frame the memory is ignored (the prompt re-targets,
        paper Sec. III-B) and the entry becomes conditioning memory. ``num_frames`` only caps how many past
        pointers are used (min(num_frames, max_obj_ptrs_in_encoder)); streams pass the default.
        Entry: maskmem_features [B, C_mem, H, W] bf16, maskmem_pos_enc list of [B, C_mem, H, W],
        obj_ptr [B, C], object_score_logits [B, 1]. ``timer`` times the stages memory_attention, decoder and
        memory_encoder. ``prior``: [B, 1, h, w] from ``update_mask_prior``, used on frames without a prompt when
        the model has ``mask_prior``. ``window``: [B, 1, h, w] bool, where each object may be this frame
        (``tracker.search_window``); mask and grasp-position logits outside are suppressed before the memory is
        written. ``choose``: how a tracking frame picks among the multimask candidates (``forward_heads``).
        """
        high_res = features.high_res_features
        if mask_inputs is not None and self.use_mask_input_as_output_without_sam:
            pix_feat = features.vision_feats[-1].permute(1, 2, 0).reshape(-1, self.hidden_dim, *features.feat_sizes[-1])
            with stage(timer, "decoder"):
                heads = self._mask_as_output(pix_feat, high_res, mask_inputs)
        else:
            with stage(timer, "memory_attention"):
                pix_feat = self._prepare_memory_conditioned_features(
                    frame_idx=frame_index, is_init_cond_frame=is_prompt_frame,
                    current_vision_feats=features.vision_feats[-1:],
                    current_vision_pos_embeds=features.vision_pos[-1:],
                    feat_sizes=features.feat_sizes[-1:], output_dict=memory, num_frames=num_frames,
                )
            with stage(timer, "decoder"):
                multimask = self._use_multimask(is_prompt_frame, point_inputs)
                if self.mask_prior and not is_prompt_frame and mask_inputs is None:
                    mask_inputs = prior
                heads = self.forward_heads(pix_feat, high_res, point_inputs, mask_inputs, multimask,
                                           choose if not is_prompt_frame else None)
        if window is not None:
            heads = self.restrict(heads, window)
        # sam2's video predictor re-encodes every prompt frame's memory from the binarised mask
        with stage(timer, "memory_encoder"):
            entry = self.encode_memory(features, heads, from_prompt=is_prompt_frame)
        return heads, entry

    def restrict(self, heads: HeadOutputs, window: torch.Tensor) -> HeadOutputs:
        """``heads`` with the mask and the grasp-position logits set to NO_OBJ_SCORE outside ``window``
        [B, 1, h, w] bool (the object score is kept: an object whose mask falls outside reads as not found)."""
        outside = ~window
        low = heads.object_logits.masked_fill(outside, NO_OBJ_SCORE)
        grasp = torch.cat([heads.grasp_logits[:, :1].masked_fill(outside, NO_OBJ_SCORE), heads.grasp_logits[:, 1:]], 1)
        full = F.interpolate(low, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return dataclasses.replace(heads, object_logits=low, object_logits_raw=heads.object_logits_raw.masked_fill(
            outside, NO_OBJ_SCORE), object_logits_full=full, grasp_logits=grasp)

    def update_mask_prior(self, prior: torch.Tensor | None, heads: HeadOutputs) -> torch.Tensor | None:
        """The prior for the next frame, [B, 1, h, w] in [0, 1]: this frame's mask probability where the object
        was found (or on its prompt frame, ``prior`` None), else the last one; None without ``mask_prior``."""
        if not self.mask_prior:
            return None
        current = heads.object_logits_raw.detach().float().sigmoid()
        if prior is None:
            return current
        return torch.where((heads.object_score_logits > 0)[:, :, None, None], current, prior)

    def encode_memory(self, features: FrameFeatures, heads: HeadOutputs, from_prompt: bool) -> dict:
        """Memory entry of one frame (sam2's layout; at inference features are stored in bfloat16, as sam2's
        video predictor does; in training they stay in the compute precision).

        ``from_prompt``: binarise the mask before encoding (prompt frames), else sigmoid * 20 - 10.
        """
        if self.memory_source == MEMORY_FROM_POSITION:
            source = F.interpolate(heads.grasp_logits[:, :1], size=(self.image_size, self.image_size),
                                   mode="bilinear", align_corners=False)
            # an absent object writes an empty map, as SAM 2 does with its mask
            source = torch.where(heads.object_score_logits[:, :, None, None] > 0, source, NO_OBJ_SCORE)
        else:
            source = heads.object_logits_full
        features_mem, pos_enc = self._encode_new_memory(
            current_vision_feats=features.vision_feats, feat_sizes=features.feat_sizes,
            pred_masks_high_res=source, object_score_logits=heads.object_score_logits,
            is_mask_from_pts=from_prompt,
        )
        return {
            "maskmem_features": features_mem if self.training else features_mem.to(torch.bfloat16),
            "maskmem_pos_enc": pos_enc,
            "obj_ptr": heads.obj_ptr,
            "object_score_logits": heads.object_score_logits,
        }

    def _mask_as_output(self, pix_feat: torch.Tensor, high_res: list[torch.Tensor] | None,
                        mask_inputs: torch.Tensor) -> HeadOutputs:
        """A mask prompt taken as the output (sam2's ``_use_mask_as_output``) plus grasp maps for it."""
        sam = self._use_mask_as_output(pix_feat, high_res, mask_inputs)
        _, _, iou, low, _, obj_ptr, score = sam
        # the output and the memory come from the low-resolution mask upsampled, as sam2's video predictor
        # re-encodes a mask-prompt frame (not from the full-resolution input mask)
        full = F.interpolate(low, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        grasp = self.forward_heads(pix_feat, high_res, None, mask_inputs, multimask_output=False).grasp_logits
        return HeadOutputs(low, low, full, grasp, obj_ptr, score, iou)

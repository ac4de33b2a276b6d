"""SAM 2's mask decoder extended with the four SPGrasp grasp maps.

SPGrasp (Mei et al. 2025, Sec. III-C) decodes five channels per object. Here the object-mask channel is SAM 2's
own mask path, untouched: the same tokens, the same two-way transformer, the same mask selection and object
pointer. The four grasp channels (position, cos 2θ, sin 2θ, width; ``channels.py``) come from new hypernetwork
MLPs applied to the single-mask token's output embedding, dotted with the same upscaled image embedding that
SAM 2's masks use. Consequences:
- loading an official SAM 2 checkpoint only *adds* tensors (``grasp_hypernetworks_mlps.*``); nothing is
  reshaped or re-initialised;
- with SAM 2's weights the object masks are exactly SAM 2's (one decoder pass, no extra tokens in attention).
(The public SPGrasp code instead adds a fifth mask token; extra tokens change every mask through the shared
attention, so its masks cannot equal SAM 2's.)

Optional ``grasp refiner`` (off by default; this package's addition, not the paper's): a small convolutional
head on [upscaled embedding, grasp logits] adds a residual to the angle and width logits. Angle and opening
are local geometry; in small models (a 64-channel decoder has an 8-channel upscaled embedding) the
token-weighted linear maps alone did not learn them (demo model: cos/sin correlation 0.04 after 2000 steps,
0.56/0.69 with the refiner after 1000). The position channel stays the token's: it says which object's grasp
a pixel is (a refiner on it put half the top-1 grasps on other objects). Its last layer starts at zero, so an
untrained refiner leaves SPGrasp's output unchanged.

Optional ``angle refiner`` (``angle_refiner``, needs the grasp refiner): a second head of the same shape that
adds a residual to the angle maps only, and also sees the image encoder's high-resolution features (the
[C/8, 4H, 4W] and [C/4, 2H, 2W] maps SAM 2 adds while upscaling, the second one upsampled): local appearance
that the C/8-channel upscaled embedding squeezes out (the demo model's square angles did not depend on the
square's rotation). Width stays with the grasp refiner: one refiner that saw these features for all three maps
read the local appearance as the opening too (disc widths came out far too small).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sam2.modeling.sam.mask_decoder import MaskDecoder
from sam2.modeling.sam2_utils import MLP
from torch import nn

NUM_GRASP_MAPS = 4  # position, cos 2θ, sin 2θ, width (channels.POSITION..WIDTH)


@dataclass
class DecoderOutput:
    """One decoder pass for B prompts.

    masks: [B, 4, h, w] logits of SAM 2's four mask tokens; iou: [B, 4]; mask_tokens: [B, 4, C] token
    outputs; object_score_logits: [B, 1]; grasp_logits: [B, 4, h, w] (h, w = 4x the image embedding).
    """

    masks: torch.Tensor
    iou: torch.Tensor
    mask_tokens: torch.Tensor
    object_score_logits: torch.Tensor
    grasp_logits: torch.Tensor


def _refiner(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """Two 3x3 convolutions and a 1x1 output layer that starts at zero (an untrained refiner adds nothing)."""
    last = nn.Conv2d(hidden, outputs, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(nn.Conv2d(inputs, hidden, 3, padding=1), nn.GELU(),
                         nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU(), last)


class GraspMaskDecoder(MaskDecoder):
    """A ``MaskDecoder`` with grasp hypernetworks; built from an existing decoder by ``from_mask_decoder``."""

    grasp_hypernetworks_mlps: nn.ModuleList
    grasp_refiner: nn.Module | None
    grasp_angle_refiner: nn.Module | None

    @classmethod
    def from_mask_decoder(cls, decoder: MaskDecoder, refiner_channels: int = 0,
                          angle_refiner: bool = False) -> "GraspMaskDecoder":
        """Adopt ``decoder``'s modules and settings (same state-dict keys) and add the grasp MLPs, and a grasp
        refiner with ``refiner_channels`` hidden channels when that is > 0, and with ``angle_refiner`` the angle
        refiner (same width; it needs the grasp refiner and a decoder that uses high-resolution features)."""
        grasp = cls.__new__(cls)
        nn.Module.__init__(grasp)
        grasp.__dict__.update({k: v for k, v in decoder.__dict__.items() if k != "training"})
        grasp.train(decoder.training)
        dim = decoder.transformer_dim
        # one MLP per grasp map, shaped like SAM 2's mask hypernetworks: C -> C -> C/8
        grasp.grasp_hypernetworks_mlps = nn.ModuleList(MLP(dim, dim, dim // 8, 3) for _ in range(NUM_GRASP_MAPS))
        grasp.grasp_refiner = grasp.grasp_angle_refiner = None
        if angle_refiner and (refiner_channels <= 0 or not decoder.use_high_res_features):
            raise ValueError("an angle refiner needs grasp_refiner_channels > 0 and a SAM 2 config with "
                             "use_high_res_features_in_sam")
        if refiner_channels > 0:  # -> residuals on cos 2θ, sin 2θ, width
            grasp.grasp_refiner = _refiner(dim // 8 + NUM_GRASP_MAPS, refiner_channels, NUM_GRASP_MAPS - 1)
        if angle_refiner:  # -> residuals on cos 2θ, sin 2θ
            fine = dim // 8 + dim // 4  # the high-resolution features' channels
            grasp.grasp_angle_refiner = _refiner(dim // 8 + NUM_GRASP_MAPS + fine, refiner_channels, 2)
        return grasp

    def decode(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        high_res_features: list[torch.Tensor] | None = None,
    ) -> DecoderOutput:
        """Run the token/image transformer once and produce all masks, scores and grasp maps.

        image_embeddings: [B, C, H, W] (already batched per prompt); image_pe: [1, C, H, W];
        sparse_prompt_embeddings: [B, P, C]; dense_prompt_embeddings: [B, C, H, W];
        high_res_features: [B, C/8, 4H, 4W] and [B, C/4, 2H, 2W] when the model uses them.
        """
        batch = sparse_prompt_embeddings.size(0)
        learned = [self.iou_token.weight, self.mask_tokens.weight]
        if self.pred_obj_scores:
            learned.insert(0, self.obj_score_token.weight)
        first_mask = len(learned) - 1  # index of the first mask token in the token sequence
        tokens = torch.cat([torch.cat(learned).unsqueeze(0).expand(batch, -1, -1), sparse_prompt_embeddings], dim=1)
        if image_embeddings.size(0) != batch:
            raise ValueError(f"{image_embeddings.size(0)} image embeddings for {batch} prompts")
        src = image_embeddings + dense_prompt_embeddings
        pos = image_pe.expand(batch, -1, -1, -1)
        b, c, h, w = src.shape

        hs, src = self.transformer(src, pos, tokens)
        mask_tokens = hs[:, first_mask:first_mask + self.num_mask_tokens]
        src = src.transpose(1, 2).reshape(b, c, h, w)
        if self.use_high_res_features:
            up1, norm1, act1, up2, act2 = self.output_upscaling
            feat_s0, feat_s1 = high_res_features
            upscaled = act2(up2(act1(norm1(up1(src) + feat_s1))) + feat_s0)
        else:
            upscaled = self.output_upscaling(src)
        _, cu, hu, wu = upscaled.shape
        flat = upscaled.reshape(b, cu, hu * wu)

        mask_weights = torch.stack([mlp(mask_tokens[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], 1)
        masks = (mask_weights @ flat).reshape(b, -1, hu, wu)
        grasp_weights = torch.stack([mlp(mask_tokens[:, 0]) for mlp in self.grasp_hypernetworks_mlps], 1)
        grasp_logits = (grasp_weights @ flat).reshape(b, NUM_GRASP_MAPS, hu, wu)
        if self.grasp_refiner is not None:  # residual on cos 2θ, sin 2θ, width (channels 1..3)
            residual = self.grasp_refiner(torch.cat([upscaled, grasp_logits], dim=1))
            grasp_logits = torch.cat([grasp_logits[:, :1], grasp_logits[:, 1:] + residual], dim=1)
        if self.grasp_angle_refiner is not None:  # residual on cos 2θ, sin 2θ (channels 1..2)
            feat_s0, feat_s1 = high_res_features
            fine = [feat_s0, F.interpolate(feat_s1, size=(hu, wu), mode="bilinear", align_corners=False)]
            residual = self.grasp_angle_refiner(torch.cat([upscaled, grasp_logits, *fine], dim=1))
            grasp_logits = torch.cat([grasp_logits[:, :1], grasp_logits[:, 1:3] + residual, grasp_logits[:, 3:]], 1)

        iou = self.iou_prediction_head(hs[:, first_mask - 1])
        if self.pred_obj_scores:
            object_score_logits = self.pred_obj_score_head(hs[:, 0])
        else:  # SAM 2's convention without an object-score head: always present
            object_score_logits = iou.new_full((batch, 1), 10.0)
        return DecoderOutput(masks, iou, mask_tokens, object_score_logits, grasp_logits)

    def predict_masks(self, image_embeddings: torch.Tensor, image_pe: torch.Tensor,
                      sparse_prompt_embeddings: torch.Tensor, dense_prompt_embeddings: torch.Tensor,
                      repeat_image: bool, high_res_features: list[torch.Tensor] | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """SAM 2's interface (used by the inherited ``forward`` and thus by every SAM2Base method)."""
        if repeat_image:
            image_embeddings = torch.repeat_interleave(image_embeddings, sparse_prompt_embeddings.size(0), dim=0)
        out = self.decode(image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings,
                          high_res_features)
        return out.masks, out.iou, out.mask_tokens, out.object_score_logits

    def select(self, out: DecoderOutput, multimask_output: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """SAM 2's choice of output masks and pointer tokens (as ``MaskDecoder.forward``).

        Returns masks [B, M, h, w], iou [B, M] and pointer tokens [B, M', C]: M = 3 candidates with
        ``multimask_output``, else 1 (token 0, or the stability fallback at inference); M' = 3 when the
        model takes pointers from the multimask tokens, else 1 (token 0).
        """
        if multimask_output:
            masks, iou = out.masks[:, 1:], out.iou[:, 1:]
        elif self.dynamic_multimask_via_stability and not self.training:
            masks, iou = self._dynamic_multimask_via_stability(out.masks, out.iou)
        else:
            masks, iou = out.masks[:, :1], out.iou[:, :1]
        use_multi = multimask_output and self.use_multimask_token_for_obj_ptr
        tokens = out.mask_tokens[:, 1:] if use_multi else out.mask_tokens[:, :1]
        return masks, iou, tokens

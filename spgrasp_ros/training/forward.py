"""A clip through the model with gradients: the tracker's per-frame step, memory kept for the whole clip."""

from __future__ import annotations

import torch
from torch import nn

from spgrasp_ros.model.spgrasp import HeadOutputs, SPGrasp
from spgrasp_ros.training.clips import Clip
from spgrasp_ros.training.loss import LossConfig, frame_loss


def forward_clip(model: SPGrasp, clip: Clip) -> list[HeadOutputs]:
    """Heads of every frame for the clip's M objects (one batch). A prompt frame re-targets: its entry
    becomes the conditioning memory and earlier memory is dropped, as in the tracker."""
    frames, objects = clip.targets.shape[:2]
    device = next(model.parameters()).device
    # sam2 scales pointer distances by min(num_frames, max_obj_ptrs_in_encoder) - 1; a stream uses the cap, so
    # training must too (the clip length would scale the same distance differently)
    num_frames = max(frames, model.max_obj_ptrs_in_encoder)
    outputs, memory, prior = [], None, None
    for t in range(frames):
        features = model.frame_features(model.forward_image(clip.images[t:t + 1].to(device)), objects)
        if t in clip.prompt_frames:
            k = clip.prompt_frames.index(t)
            points = {"point_coords": clip.points[k].to(device), "point_labels": clip.labels[k].to(device)}
            heads, entry = model.step(t, features, {}, is_prompt_frame=True, point_inputs=points,
                                      num_frames=num_frames)
            memory = {"cond_frame_outputs": {t: entry}, "non_cond_frame_outputs": {}}
            prior = model.update_mask_prior(None, heads)
        else:
            heads, entry = model.step(t, features, memory, is_prompt_frame=False, num_frames=num_frames, prior=prior)
            memory["non_cond_frame_outputs"][t] = entry
            prior = model.update_mask_prior(prior, heads)
        outputs.append(heads)
    return outputs


class ClipLoss(nn.Module):
    """The model and its loss as one module (what DistributedDataParallel wraps): clip -> loss terms."""

    def __init__(self, model: SPGrasp, config: LossConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config

    def forward(self, clip: Clip) -> dict[str, torch.Tensor]:
        """Loss terms averaged over the clip's frames."""
        device = next(self.model.parameters()).device
        totals: dict[str, torch.Tensor] = {}
        heads = forward_clip(self.model, clip)
        for t, out in enumerate(heads):
            terms = frame_loss(out.object_logits_raw, out.grasp_logits, out.object_score_logits,
                               clip.targets[t].to(device), clip.visible[t].to(device), clip.mask_valid[t].to(device),
                               self.config)
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + value / len(heads)
        return totals

"""sam2's own video predictor as the bench's baseline, on the CPU with the tiny test model."""

import torch

from spgrasp_ros.bench.sam2_baseline import run_sam2_baseline
from spgrasp_ros.bench.scenes import scene_frames
from spgrasp_ros.model.config import load_model_config


def test_sam2_baseline_segments_the_same_frames_on_cpu(tmp_path, restore_threads):
    torch.set_num_threads(1)
    frames, boxes = scene_frames(96, 64, objects=2, count=6, jpeg_dir=tmp_path)
    assert len(list(tmp_path.glob("*.jpg"))) == 6 and frames[0].shape == (64, 96, 3)
    config = load_model_config("test_tiny").replace(image_size=128, n_hist=2)
    result = run_sam2_baseline(config, tmp_path, boxes, device="cpu", warmup=2)
    assert result["predictor"] == "SAM2VideoPredictor" and not result["vos_optimized"]
    assert result["frames"] == 3 and len(result["frame_ms_series"]) == 3, "prompt frame and warm-up not counted"
    assert result["mask_shape"] == [2, 1, 64, 96], "one mask per object at video resolution"
    assert 0 < result["frame_ms"]["median"] <= result["frame_ms"]["p99"]
    assert "++model.num_maskmem=3" in result["overrides"] and "++model.image_size=128" in result["overrides"]

"""The optimised tracker paths (precision; OptimisedTracker's compile / memory_shapes / one_copy) against the
eager float32 path, and the number of compilations over a long stream.

Tolerances, on a tiny random-weight model (presence forced on), 2 objects, 8 frames after the prompt:
- compiled float32 (inductor, one_copy) vs eager float32: mask IoU >= 0.99 on average and >= 0.97 for every
  object and frame; the same number of grasps per frame, and >= 95 % of the eager grasps have a compiled one
  of the same object within 0.5 px (centre), 1e-3 rad (angle, modulo pi) and 0.1 % (width);
- eager bf16 autocast on the CPU vs eager float32: mask IoU >= 0.95 on average and >= 0.9 everywhere; >= 80 %
  of the grasps within 4 px and 0.1 rad (a random model's grasp maps have many near-equal peaks, so rounding
  can pick a neighbouring one; measured: IoU 0.99, 96 % of the grasps).
Inductor compiles the tiny model in tens of seconds on 2 cores with a cold cache: the compiled trackers are
built once per module (fixtures) and every test reuses them.
"""

import copy
import dataclasses

import numpy as np
import pytest
import torch

from spgrasp_ros.bench.measure import count_syncs
from spgrasp_ros.bench.scenes import moving_scene
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.optimised import OptimisedConfig

FRAMES = 8  # compared frames after the prompt frame
SIZE = (160, 120)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One CPU thread: on a shared 2-core machine several threads wait on each other (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny():
    config = load_model_config("test_tiny").replace(image_size=128, n_hist=2, max_obj_ptrs=4)
    torch.manual_seed(0)
    model = build_model(config)
    with torch.no_grad():  # random weights sit at the presence threshold; make objects clearly present
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.fill_(3.0)
    return model, config


def _stream(count, seed=0):
    stream, boxes = moving_scene(*SIZE, objects=2, seed=seed)
    return [next(stream) for _ in range(count)], boxes


def _run(tracker, frames, boxes):
    outputs = [tracker.step(frames[0], Prompt.create(boxes=boxes))]
    outputs += [tracker.step(frame) for frame in frames[1:]]
    return outputs


def _tracker(tiny, device=None, precision="auto", **settings):
    """A tracker without search windows and exclusive masks (on a random model their feedback turns rounding
    differences into different windows; these tests compare arithmetic paths); OptimisedConfig fields among
    ``settings`` make it optimised."""
    model, config = tiny
    names = {f.name for f in dataclasses.fields(OptimisedConfig)}
    options = {k: settings.pop(k) for k in list(settings) if k in names}
    optimised = OptimisedConfig(**{"compile": False, "one_copy": False, **options}) if options else None
    behaviour = TrackerConfig(**{"search_window": 0.0, "exclusive_masks": False, **settings})
    return build_tracker(copy.deepcopy(model), config, behaviour, device, precision, optimised)


def _mask_ious(reference, other):
    ious = []
    for a, b in zip(reference, other):
        union = (a.masks | b.masks).sum(axis=(1, 2))
        ious.extend(np.where(union > 0, (a.masks & b.masks).sum(axis=(1, 2)) / np.maximum(union, 1), 1.0))
    return np.array(ious)


def _matched(reference, other, centre_px, angle_rad, width_rel=np.inf):
    """Fraction of the reference grasps with a grasp of the same object in ``other`` within the tolerances."""
    hits = total = 0
    for a, b in zip(reference, other):
        for g in a.result.grasps:
            total += 1
            for h in b.result.grasps_of(g.object_id):
                turn = abs(g.angle - h.angle) % np.pi
                near = np.hypot(g.center[0] - h.center[0], g.center[1] - h.center[1]) <= centre_px
                if near and min(turn, np.pi - turn) <= angle_rad and abs(g.width - h.width) <= width_rel * abs(g.width):
                    hits += 1
                    break
    return hits / max(total, 1), total


@pytest.fixture(scope="module")
def eager(tiny):
    frames, boxes = _stream(FRAMES + 1)
    return _run(_tracker(tiny, precision="float32"), frames, boxes)


@pytest.fixture(scope="module")
def compiled(tiny):
    """A compiled float32 tracker: the compared frames, then a long stream with a re-targeting prompt;
    compile counts after the memory filled and at the end."""
    torch._dynamo.reset()
    tracker = _tracker(tiny, precision="float32", compile=True, one_copy=True)
    frames, boxes = _stream(FRAMES + 1)
    outputs = _run(tracker, frames, boxes)
    assert FRAMES > tracker.memory_fill_levels, "the compared frames fill the memory"
    after_fill = tracker.compile_counts()
    more, _ = _stream(60, seed=1)
    for index, frame in enumerate(more):
        tracker.step(frame, Prompt.create(boxes=boxes) if index == 25 else None)  # re-target: the FIFO refills
    return {"tracker": tracker, "outputs": outputs, "after_fill": after_fill, "end": tracker.compile_counts()}


def test_one_copy_gives_identical_results(tiny):
    for preprocess in ("resize", "letterbox"):
        frames, boxes = _stream(5)
        plain = _run(_tracker(tiny, preprocess=preprocess), frames, boxes)
        packed = _run(_tracker(tiny, preprocess=preprocess, one_copy=True), frames, boxes)
        for a, b in zip(plain, packed):
            assert (a.masks == b.masks).all() and a.masks.dtype == b.masks.dtype
            assert a.result.objects == b.result.objects and a.result.grasps == b.result.grasps


def test_config_checks_precision_and_memory_shapes(tiny):
    with pytest.raises(ValueError, match="precision"):
        _tracker(tiny, precision="float16")
    with pytest.raises(ValueError, match="memory_shapes"):
        OptimisedConfig(memory_shapes="padded")


@pytest.mark.slow  # the first compiled test compiles the tiny model: ~15 s warm, 60-90 s cold
def test_compiled_float32_matches_eager(eager, compiled):
    outputs = compiled["outputs"]
    ious = _mask_ious(eager, outputs)
    assert ious.mean() >= 0.99 and ious.min() >= 0.97, ious
    assert [len(o.result.grasps) for o in outputs] == [len(o.result.grasps) for o in eager]
    fraction, total = _matched(eager, outputs, centre_px=0.5, angle_rad=1e-3, width_rel=1e-3)
    assert total > 0 and fraction >= 0.95, (fraction, total)


@pytest.mark.slow  # shares the compiled fixture (built by whichever of the two runs first)
def test_compilations_stay_bounded_over_a_long_stream(compiled):
    after_fill, end = compiled["after_fill"], compiled["end"]
    assert end == after_fill, f"compiled again after the memory filled: {after_fill} -> {end}"
    parts = {k: v for k, v in end.items() if k not in ("graphs", "graph_breaks")}
    assert all(v >= 1 for v in parts.values()), parts
    assert parts["memory_attention"] <= 2, "dynamic memory length: one graph (plus sam2's size-1 special case)"
    assert sum(parts.values()) <= 8 and end["graph_breaks"] == 0, end


@pytest.mark.slow  # four memory-attention graphs: ~5 s warm, ~25 s cold
def test_static_memory_shapes_compile_once_per_fill_level(tiny):
    torch._dynamo.reset()
    tracker = _tracker(tiny, precision="float32", compile=True, memory_shapes="static")
    assert tracker.prewarm(SIZE, objects=2) == tracker.memory_fill_levels + 2
    assert tracker.object_ids == [] and tracker.frame_index == -1, "prewarm leaves the state as it was"
    warmed = tracker.compile_counts()
    assert warmed["memory_attention"] == tracker.memory_fill_levels == 4  # 1 + max(n_hist 2, 4 pointers - 1)
    frames, boxes = _stream(14)
    _run(tracker, frames, boxes)
    _run(tracker, frames, boxes)  # a second prompt: the FIFO refills through the same shapes
    assert tracker.compile_counts() == warmed


def test_bf16_on_cpu_close_to_float32(tiny, eager):
    frames, boxes = _stream(FRAMES + 1)
    outputs = _run(_tracker(tiny, precision="bfloat16"), frames, boxes)
    ious = _mask_ious(eager, outputs)
    assert ious.mean() >= 0.95 and ious.min() >= 0.9, ious
    fraction, total = _matched(eager, outputs, centre_px=4.0, angle_rad=0.1)
    assert total > 0 and fraction >= 0.8, (fraction, total)


@needs_cuda
def test_cuda_compiled_bf16_close_to_float32_eager(tiny):
    frames, boxes = _stream(FRAMES + 1)
    reference = _run(_tracker(tiny, device="cuda", precision="float32"), frames, boxes)
    torch._dynamo.reset()
    outputs = _run(_tracker(tiny, device="cuda", precision="bfloat16", compile=True, one_copy=True), frames, boxes)
    ious = _mask_ious(reference, outputs)
    assert ious.mean() >= 0.9 and ious.min() >= 0.8, ious
    assert _matched(reference, outputs, centre_px=4.0, angle_rad=0.1)[0] >= 0.6


@needs_cuda
def test_cuda_reduce_overhead_matches_default_compile(tiny):
    frames, boxes = _stream(FRAMES + 1)
    torch._dynamo.reset()
    reference = _run(_tracker(tiny, device="cuda", precision="float32", compile=True, one_copy=True), frames, boxes)
    torch._dynamo.reset()
    outputs = _run(_tracker(tiny, device="cuda", precision="float32", compile=True, one_copy=True,
                            compile_mode="reduce-overhead"), frames, boxes)
    assert _mask_ious(reference, outputs).min() >= 0.97
    assert _matched(reference, outputs, centre_px=0.5, angle_rad=1e-3)[0] >= 0.95


@needs_cuda
def test_cuda_one_host_sync_per_frame(tiny):
    torch._dynamo.reset()
    tracker = _tracker(tiny, device="cuda", compile=True, one_copy=True)
    frames, boxes = _stream(20)
    tracker.prewarm(SIZE, objects=2)
    _run(tracker, frames[:10], boxes)
    syncs = count_syncs(tracker, frames[10:], 10)
    assert syncs["per_frame"] <= 1.0, syncs


def test_packed_copy_unpacks_to_the_same_arrays(tiny):
    tracker = _tracker(tiny, one_copy=True)
    floats = torch.randn(3, 32)
    bits = torch.rand(3, 1000) > 0.5
    for _ in range(2):  # the second reuses the host buffer
        host_floats, host_bits = tracker._copy_to_host(floats, bits)
        assert (host_floats == floats.numpy()).all() and (host_bits == bits.numpy()).all()

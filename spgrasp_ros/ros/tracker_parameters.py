"""The parameters of the tracker node (``spgrasp_tracker``): names, defaults, descriptions and checks.

The tracking and text-detection defaults are the dataclass fields (``TrackerConfig``, ``DecodeConfig``,
``TextDetectorConfig``): one source, which config/tracker.yaml repeats (a test keeps them equal).
"""

from __future__ import annotations

from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.tracker_diagnostics import HealthRules
from spgrasp_ros.text.grounding_dino import TextDetectorConfig
from spgrasp_ros.tracker.config import GRASP_SOURCES, TrackerConfig
from spgrasp_ros.tracker.text_reacquire import TextReacquireConfig

TRACKING = TrackerConfig().settings()  # the tracker's behaviour defaults: one source (tracker/config.py)
TEXT = TextDetectorConfig()  # the text detector's defaults
REACQUIRE = TextReacquireConfig()  # when lost text-prompted objects are looked for again
HEALTH = HealthRules()  # when /diagnostics says OK, WARN or STALE
MAX_PENDING_LIMIT = 32  # the most prompts max_pending_prompts may let wait
# Objects tracked at once by default: the most that keep 10 FPS with the bundled model at 640x480 on this
# project's 2-core CPU (1 thread: 1 object 19.5 ms a frame, 8: 42, 16: 92, 32: 182, 64: 389; each object adds
# ~5.5 ms, its memory only ~25 KB). A larger model or a GPU moves the line: it is a parameter.
MAX_OBJECTS = 16
MAX_OBJECTS_LIMIT = 256  # the most max_objects may allow
# Threads of the executor: every waiting prompt and the one being applied hold one (their callbacks wait for
# the worker), the default callback group needs one, a prompt refused at once briefly needs another.
EXECUTOR_THREADS = MAX_PENDING_LIMIT + 3
# Requests the middleware holds for set_prompt until the executor takes them (services default to 10, which a
# burst of clients overruns: requests beyond it would be lost unanswered). Each is then answered or refused.
PROMPT_REQUESTS_HELD = 256

PARAMETERS = (
    params.ParamSpec("checkpoint", "demo", "bundled model name or checkpoint file path"),
    params.ParamSpec("model_config", "", "model preset or YAML the checkpoint must match ('' = the checkpoint's)"),
    params.ParamSpec("device", "auto", "auto, cpu, cuda or cuda:N"),
    params.ParamSpec("grasp_source", TRACKING["grasp_source"], "grasps from the trained grasp head (model), from "
                     "each tracked mask's geometry and the depth (geometry: no grasp training needed), or auto: the "
                     "head when the checkpoint's was trained, else the geometry; model on an untrained head "
                     "(official SAM 2 weights) fails configure", params.one_of(*GRASP_SOURCES)),
    params.ParamSpec("preprocess", TRACKING["preprocess"], "resize or letterbox",
                     params.one_of("resize", "letterbox")),
    params.ParamSpec("warmup_frames", 2, "frames run through the model at configure", params.in_range(0, 100)),
    params.ParamSpec("image_transport", "raw", "raw (image) or compressed (image/compressed)",
                     params.one_of("raw", "compressed")),
    params.ParamSpec("image_reliability", "best_effort", "QoS reliability of the input subscriptions",
                     params.one_of("best_effort", "reliable")),
    params.ParamSpec("use_depth", True, "subscribe depth + camera_info and add metric poses"),
    params.ParamSpec("depth_sync_tolerance_s", 0.05, "depth with the colour frame's stamp, else the nearest "
                     "within this [s]; none: no metric pose", params.in_range(0.0, 1.0)),
    params.ParamSpec("depth_buffer", 8, "recent depth images kept for pairing by stamp", params.in_range(1, 100)),
    params.ParamSpec("text_model", "", "Grounding DINO folder or cached Hugging Face id for text prompts "
                     "('' = off)"),
    params.ParamSpec("text_device", "", "device of the text detector ('' = the tracker's)"),
    params.ParamSpec("text_box_threshold", TEXT.box_threshold, "text prompts: box confidence threshold",
                     params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("text_threshold", TEXT.text_threshold, "text prompts: phrase-token threshold",
                     params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("text_max_objects", TEXT.max_objects, "text prompts: objects kept per request (best first)",
                     params.in_range(1, 50), runtime=True),
    params.ParamSpec("text_reacquire_after", REACQUIRE.after_frames, "a text-prompted object lost this many "
                     "frames is looked for again with its phrase and re-seeded under its id (0 = never)",
                     params.in_range(0, 100000), runtime=True),
    params.ParamSpec("text_reacquire_every", REACQUIRE.every_frames, "at most one re-detection per lost "
                     "object per this many frames", params.in_range(1, 100000), runtime=True),
    params.ParamSpec("presence_threshold", TRACKING["presence_threshold"], "visible when presence probability "
                     ">= this", params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("search_window", TRACKING["search_window"], "masks and grasps only within the last box "
                     "grown by this x the object's size (0 = anywhere)", params.in_range(0.0, 10.0), runtime=True),
    params.ParamSpec("exclusive_masks", TRACKING["exclusive_masks"], "each pixel belongs to at most one tracked "
                     "object (the highest mask logit), so no object's grasp or search window lands on another "
                     "tracked object", runtime=True),
    params.ParamSpec("search_growth", TRACKING["search_growth"], "the window grows by this x the object's size "
                     "per lost frame", params.in_range(0.0, 10.0), runtime=True),
    params.ParamSpec("motion", TRACKING["motion"], "a Kalman filter on each object's box: search windows follow "
                     "its prediction (also while hidden) and it helps pick SAM 2's mask candidate", runtime=True),
    params.ParamSpec("motion_weight", TRACKING["motion_weight"], "weight of a mask candidate's agreement with the "
                     "predicted box against its predicted IoU (0 = SAM 2's pick)", params.in_range(0.0, 1.0),
                     runtime=True),
    params.ParamSpec("min_area_ratio", TRACKING["min_area_ratio"], "visible only when the mask covers at least "
                     "this x the object's usual area (0 = the object score alone)", params.in_range(0.0, 1.0),
                     runtime=True),
    params.ParamSpec("memory_gate", TRACKING["memory_gate"], "memory written only from frames where the object "
                     "is visible; elsewhere it repeats its last confident memory", runtime=True),
    params.ParamSpec("resolve_duplicates", TRACKING["resolve_duplicates"], "two tracked objects' masks on one "
                     "place: the one that agrees less with its box filter loses it for the frame", runtime=True),
    params.ParamSpec("duplicate_iou", TRACKING["duplicate_iou"], "mask IoU from which two tracks are on one object",
                     params.in_range(0.05, 1.0), runtime=True),
    params.ParamSpec("memory_anchors", TRACKING["memory_anchors"], "the frame that told an object from a "
                     "look-alike stays in its memory as an anchor (one per object, flat memory)", runtime=True),
    params.ParamSpec("steady_grasps", TRACKING["steady_grasps"], "each object's grasps associated over frames and "
                     "smoothed, its best grasp kept unless another is clearly better for a while", runtime=True),
    params.ParamSpec("position_threshold", TRACKING["position_threshold"], "a grasp peak must exceed this "
                     "position value", params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("mask_threshold", TRACKING["mask_threshold"], "object-mask probability threshold",
                     params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("top_k", TRACKING["top_k"], "grasps per object at most", params.in_range(1, 100),
                     runtime=True),
    params.ParamSpec("readout_window", TRACKING["readout_window"], "a grasp's angle and width: position-weighted "
                     "means over this odd window of map pixels around its peak (1 = the peak pixel)",
                     params.odd_in_range(1, 31), runtime=True),
    params.ParamSpec("geometry_max_opening_m", TRACKING["geometry_max_opening_m"], "geometry grasps: the "
                     "gripper's stroke [m]; wider grasps at their depth are dropped", params.in_range(0.001, 2.0),
                     runtime=True),
    params.ParamSpec("geometry_max_opening_px", TRACKING["geometry_max_opening_px"], "geometry grasps without "
                     "depth: wider grasps are dropped [px] (0 = no limit)", params.in_range(0.0, 100000.0),
                     runtime=True),
    params.ParamSpec("geometry_margin_ratio", TRACKING["geometry_margin_ratio"], "geometry grasps: opening = the "
                     "object's width there x (1 + this)", params.in_range(0.0, 2.0), runtime=True),
    params.ParamSpec("geometry_friction_cone_deg", TRACKING["geometry_friction_cone_deg"], "geometry grasps: the "
                     "contour's normals at both contacts within this of the closing line [deg]",
                     params.in_range(1.0, 90.0), runtime=True),
    params.ParamSpec("geometry_positions", TRACKING["geometry_positions"], "geometry grasps: candidate points "
                     "along each object's long axis", params.in_range(1, 64), runtime=True),
    params.ParamSpec("geometry_angles", TRACKING["geometry_angles"], "geometry grasps: closing directions tried "
                     "over the half turn", params.in_range(2, 180), runtime=True),
    params.ParamSpec("geometry_grow_px", TRACKING["geometry_grow_px"], "geometry grasps: each mask grown by this "
                     "[px] first (tracked masks fall short of the edges)", params.in_range(0, 100), runtime=True),
    params.ParamSpec("geometry_hull_solidity", TRACKING["geometry_hull_solidity"], "geometry grasps: a mask "
                     "filling at least this share of its convex hull is taken as the hull (1 = never)",
                     params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("stage_timing", False, "time each model stage for /diagnostics (syncs the GPU per stage)",
                     runtime=True),
    params.ParamSpec("markers_per_object", 3, "~/markers: a gripper for each of this many best posed grasps per "
                     "object (drawn only while someone subscribes)", params.in_range(1, 100), runtime=True),
    params.ParamSpec("publish_debug_image", True, "draw ~/debug_image while someone subscribes", runtime=True),
    params.ParamSpec("max_objects", MAX_OBJECTS, "objects tracked at once at most: a prompt that would track "
                     "more is refused at once (each object costs memory attention, decoding and memory)",
                     params.in_range(1, MAX_OBJECTS_LIMIT)),
    params.ParamSpec("max_pending_prompts", 8, "prompts that may wait for the tracker; one more is refused at "
                     "once", params.in_range(1, MAX_PENDING_LIMIT)),
    params.ParamSpec("prompt_timeout_s", 30.0, "a prompt still waiting after this long is refused, never "
                     "applied [s] (one being applied is answered when done)", params.in_range(0.1, 3600.0),
                     runtime=True),
    params.ParamSpec("diagnostics_period_s", 1.0, "period of /diagnostics [s]", params.in_range(0.05, 60.0)),
    params.ParamSpec("diagnostics_window_s", HEALTH.window_s, "errors, rejected and dropped frames set the "
                     "/diagnostics level while this recent [s]", params.in_range(0.1, 3600.0), runtime=True),
    params.ParamSpec("stale_after_s", HEALTH.stale_after_s, "/diagnostics says STALE when no image arrived for "
                     "this long [s]", params.in_range(0.1, 3600.0), runtime=True),
    params.ParamSpec("diagnostics_warn_drop_ratio", HEALTH.warn_drop_ratio, "/diagnostics warns when more than "
                     "this share of the recent frames was dropped (1 = never)", params.in_range(0.0, 1.0),
                     runtime=True),
    params.ParamSpec("error_log_period_s", 5.0, "at most one log line per this many seconds for repeated errors",
                     params.in_range(0.0, 3600.0), runtime=True),
)
RUNTIME_TUNABLE = tuple(s.name for s in PARAMETERS if s.runtime)

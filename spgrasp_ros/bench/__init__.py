"""``spgrasp bench``: how fast the streaming tracker is, per stage and end to end, against sam2's own predictor.

One configuration (``single.run_bench``) or a sweep (``sweep.run_sweep``) over model presets, input sizes,
memory lengths (N_hist), object counts and modes (``settings.MODES``: float32, bf16, compiled, ...). Every
tracker is built by ``tracker.build.build_tracker`` with the deployed ``TrackerConfig()`` (search window,
exclusive masks: what the robot runs), the mode's precision and, for compiled modes, an ``OptimisedConfig``.
Per configuration:
- frames: a moving synthetic scene at camera resolution (``scenes.moving_scene``), one box prompt per object
  on the first frame; compiled modes first run ``OptimisedTracker.prewarm`` (every graph compiled, every
  memory fill level seen), then ``warmup`` untimed frames (>= the model's memory fill levels, so the timed
  frames see a full memory), then ``frames`` timed ones;
- end to end: host wall clock from a synchronised device to ``tracker.step`` returning grasps and masks on
  the host (a numpy image in), synchronised again: median, p90, p99 (``timing.summarise``);
- stages (``measure.STAGES``): CUDA events on the GPU (``timing.StageTimer(events=True)``: no synchronisation
  inside the frame), wall clock on the CPU;
- memory: on the GPU the peak over the timed frames (``torch.cuda.max_memory_allocated``) and the allocated
  bytes after every frame, on the CPU the tracker's state bytes; flat = constant within ``FLAT_TOLERANCE``.
  ``long_stream``: an extra untimed stream of that many frames checks flatness far beyond the memory window;
- floors: FLOPs per stage (one eager frame under ``timing.StageFlops``) and weight bytes, over the matmul rate
  and copy bandwidth measured on the device (``measure.measure_ceilings``): how far each stage is from the
  hardware;
- sam2: its own video predictor segmenting the same frames (``sam2_baseline``, vos_optimized on CUDA), so
  every row is also a ratio to it (< 1: faster than sam2); a single run with ``--baseline`` also steps both
  systems alternately, frame by frame (``interleaved``): the ratio that holds on a busy machine (the sweep's
  ratio is still from runs one after the other);
- host-device synchronisations per frame (CUDA only: ``torch.cuda.set_sync_debug_mode``).
Results: JSON (every per-frame series included) and a PNG plot (``report``).

Modules, each one job, imported in this order (none imports a later one): ``settings`` (what to run),
``scenes`` (frames), ``measure`` (measurement primitives), ``sam2_baseline``, ``interleaved``, ``single`` (one
configuration),
``sweep`` (the resumable matrix and its targets), ``report`` (tables, plots, files), ``command`` (the CLI).

The issue's full table (``--sweep`` without a file = ``SweepSettings()``: base+/tiny/small/large x 512/1024 px
x N_hist 8/6/4 x 1/4 objects x compiled/bf16/float32, 300 timed frames at 1280x720, sam2's baseline, a
10,000-frame memory check) on a CUDA host with this package installed:

    spgrasp bench --sweep --out outputs/bench_h100 --resume time_budget_s=420

sweep.json is rewritten after every row and ``--resume`` keeps what it holds, so with a time budget the same
command run again continues (N_hist is the outer loop: the first calls cover every model at N_hist 8) until it
prints "sweep complete". A GPU host whose Python has CUDA torch but no sam2/hydra needs only their pure-Python
wheels (``SAM2_BUILD_CUDA=0 pip wheel --no-deps --no-build-isolation -w WHEELS sam2==1.1.0 hydra-core==1.3.8
omegaconf==2.3.1 antlr4-python3-runtime==4.9.3`` where pip works, then ``pip install --no-deps WHEELS/*.whl``)
and this checkout on PYTHONPATH (``python3 -m spgrasp_ros bench ...``).
"""

"""rosbag2 bags and the recorded-sequence format (``data.recorded``), both ways, and bags as evaluation data.

- ``sequence_to_bag``: a recorded sequence (``zed_camera_node``'s recordings, ``spgrasp synth``'s scenes) as a
  bag: rgb8 colour (or PNG / JPEG CompressedImage), 32FC1 depth and camera_info, stamped with the sequence's
  own stamps (``stamp_ns`` per frame, as the ZED node records them), else ``start_ns + k / fps``; frame_id
  from the sequence, else ``frame_id``. Labels stay in the sequence folder.
- ``bag_to_sequence``: a bag's camera as a recorded sequence folder (frames, depth as millimetre PNGs,
  intrinsics, stamps, frame_id; fps from the stamps), unlabelled: label it, then train or evaluate on it.
- ``read_bag_sequence``: the ``bag:`` data spec of ``spgrasp eval``: the bag's frames, labelled by a recorded
  sequence (its annotations.jsonl and masks/, frame k of the bag = line k; stamps checked where both have
  them). Frames are read lazily from the bag, in order (``_BagCursor``): memory stays bounded.

Every pass reads one frame at a time; errors name the bag, the sequence and the frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from spgrasp_ros.data.recorded import SequenceWriter, camera_intrinsics, read_sequence
from spgrasp_ros.data.types import DatasetError, Frame, Sequence
from spgrasp_ros.ros.bag_frames import BagFrame, BagTopics, CameraBag, decode_record, read_bag_frames, write_bag

DEFAULT_FRAME_ID = "camera_color_optical_frame"
DEFAULT_START_NS = 1_000_000_000  # stamps of a sequence that has none: from 1 s (0 reads as "no clock yet")
BAG_SPEC_KEYS = ("annotations", "image", "depth", "camera_info")


def sequence_to_bag(folder: str | Path, out: str | Path, storage: str = "mcap", topics: BagTopics = BagTopics(),
                    colour: str = "rgb8", frame_id: str = DEFAULT_FRAME_ID,
                    start_ns: int = DEFAULT_START_NS) -> tuple[Path, int]:
    """Write the recorded sequence at ``folder`` as a bag at ``out``; (the bag, frames written)."""
    sequence = read_sequence(Path(folder).expanduser())
    meta = sequence.meta
    stamps = meta.get("stamps_ns") or [start_ns + round(k * 1e9 / float(meta.get("fps") or 30.0))
                                       for k in range(len(sequence.frames))]
    intrinsics = camera_intrinsics(meta)
    frame_id = meta.get("frame_id") or frame_id
    count = 0

    def frames() -> Iterator[BagFrame]:
        nonlocal count
        for stamp, frame in zip(stamps, sequence.frames):
            yield BagFrame(int(stamp), frame_id, frame.load_image(), frame.load_depth(), intrinsics)
            count += 1

    path = write_bag(Path(out).expanduser(), frames(), topics, storage=storage, colour=colour)
    return path, count


def bag_to_sequence(bag: str | Path, out: str | Path, topics: BagTopics = BagTopics()) -> tuple[Path, int]:
    """Write the camera of ``bag`` as an unlabelled recorded sequence at ``out``; (the folder, frames)."""
    writer, first, last, count = None, 0, 0, 0
    try:
        for frame in read_bag_frames(bag, topics):
            if writer is None:
                height, width = frame.rgb.shape[:2]
                writer = SequenceWriter(Path(out).expanduser(), (width, height), frame_id=frame.frame_id or None)
                first = frame.stamp_ns
            if frame.intrinsics is not None and writer.camera is None:
                writer.camera = dict(zip(("fx", "fy", "cx", "cy"), frame.intrinsics))
            writer.write(frame.rgb, [], depth_m=frame.depth, stamp_ns=frame.stamp_ns)
            last, count = frame.stamp_ns, count + 1
    finally:
        if writer is not None:
            if count > 1 and last > first:
                writer.fps = round((count - 1) / ((last - first) / 1e9), 3)
            writer.close()
    if writer is None:
        raise ValueError(f"bag {bag}: no frames on {topics.image}")
    return writer.folder, count


def parse_bag_spec(rest: str, spec: str) -> tuple[str, dict[str, str]]:
    """``<bag>[:key=value,...]`` of a ``bag:`` data spec -> (bag path, options); ValueError naming unknown
    keys. Keys: annotations (required: a recorded sequence folder or its sequence.json), image, depth,
    camera_info (topics in the bag; '' or none = without)."""
    path, _, tail = rest.rpartition(":")
    if not path or "=" not in tail:
        path, tail = rest, ""
    options = {}
    for item in filter(None, tail.split(",")):
        key, _, value = item.partition("=")
        if key not in BAG_SPEC_KEYS:
            raise ValueError(f"data spec {spec!r}: unknown option {key!r} (bag takes {', '.join(BAG_SPEC_KEYS)})")
        options[key] = "" if value.lower() == "none" else value
    if not options.get("annotations"):
        raise ValueError(f"data spec {spec!r}: a bag needs annotations=<recorded sequence folder> (the labels of "
                         "its frames, in order; `spgrasp bag to-sequence` writes a folder to label)")
    return path, options


def read_bag_sequence(rest: str, spec: str) -> tuple[str, list[Sequence]]:
    """The ``bag:<bag>:annotations=<sequence>[,image=..,depth=..,camera_info=..]`` split: (name, [sequence]).
    DatasetError when the bag and the annotations do not belong together (frame counts)."""
    path, options = parse_bag_spec(rest, spec)
    defaults = BagTopics()
    topics = BagTopics(options.get("image", defaults.image), options.get("depth", defaults.depth),
                       options.get("camera_info", defaults.camera_info))
    annotations = Path(options["annotations"]).expanduser()
    labels = read_sequence(annotations.parent if annotations.name == "sequence.json" else annotations)
    with CameraBag(path, topics) as bag:
        count, folder = bag.count, bag.path
    if count != len(labels.frames):
        raise DatasetError(f"bag {folder}: {count} frames on {topics.image}, but {labels.name} annotates "
                           f"{len(labels.frames)}")
    cursor = _BagCursor(folder, topics, labels.meta.get("stamps_ns"))
    frames = [Frame(name=f"{folder.name}/{k:06d}", load_image=lambda k=k: cursor.frame(k).rgb, objects=label.objects,
                    load_masks=label.load_masks, load_depth=lambda k=k: cursor.frame(k).depth)
              for k, label in enumerate(labels.frames)]
    meta = {**labels.meta, "source": "bag", "bag": str(folder), "annotations": str(annotations)}
    meta.pop("stamps_ns", None)
    print(f"bag {folder}: {count} frames, labelled by {labels.name}")
    return f"bag:{folder.name}", [Sequence(folder.name, frames, meta)]


class _BagCursor:
    """Frame k of a bag, for readers that go through the frames in order: each pass reads the bag once (going
    back starts over); only the current frame is held."""

    def __init__(self, path: Path, topics: BagTopics, stamps: list[int] | None) -> None:
        self.path, self.topics, self.stamps = path, topics, stamps
        self._bag: CameraBag | None = None
        self._records = None
        self._index, self._frame = -1, None

    def frame(self, k: int) -> BagFrame:
        """Frame ``k``; DatasetError naming the bag and the frame when it cannot be read."""
        if self._records is None or k < self._index or (k == self._index and self._frame is None):
            self._open()
        try:
            while self._index < k:
                record = next(self._records, None)
                if record is None:
                    raise DatasetError(f"bag {self.path}: frame {k} is past its end")
                self._index, self._frame = self._index + 1, None
                if self._index == k:
                    self._frame = decode_record(record, self.path)
        except DatasetError:
            raise
        except ValueError as error:
            raise DatasetError(str(error)) from None
        if self.stamps and self._frame.stamp_ns != self.stamps[k]:
            raise DatasetError(f"bag {self.path}: frame {k} is stamped {self._frame.stamp_ns} ns, its annotation "
                               f"{self.stamps[k]} ns")
        return self._frame

    def _open(self) -> None:
        if self._bag is not None:
            self._bag.close()
        self._bag = CameraBag(self.path, self.topics)
        self._records, self._index, self._frame = self._bag.records(), -1, None


def sequence_summary(folder: Path) -> str:
    """One line about a written sequence folder (frames, size, fps)."""
    meta = json.loads((folder / "sequence.json").read_text())
    return f"{meta['frames']} frames of {meta['size'][0]}x{meta['size'][1]} at {meta['fps']:g} fps"

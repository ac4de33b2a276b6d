"""What the operator page is sent: camera frames with their grasps, mask overlays, as binary WebSocket messages.

One packet = 1 byte kind, 4 bytes (big-endian) length of a UTF-8 JSON header, the header, the payload:

- ``FRAME``: payload = the camera image as JPEG (scaled to at most ``max_width`` px wide); header =
  :func:`grasp_summary` of the frame's GraspArray plus ``jpeg_width``/``jpeg_height`` and the node's wall-clock
  times (``grasps_at_ms``: its GraspArray arrived, ``sent_at_ms``: the packet was made; ms since the epoch).
- ``MASK``: payload = an RGBA PNG of the tracker's label image (each object in its colour, background
  transparent) at the JPEG's size; header = ``stamp`` and ``ids``.

Stamps are strings of nanoseconds (JavaScript numbers cannot hold them exactly). Pixel values in headers are in
the camera image's own pixels (``width`` x ``height``); the page scales them to the canvas. Colours come from
``visualize.object_colour``, the same as the debug image and the rviz markers.
"""

from __future__ import annotations

import json
import math
import struct

import cv2
import numpy as np

from spgrasp_ros.visualize import object_colour

FRAME, MASK = 1, 2
GRASP_SOURCES = {0: "model", 1: "geometry"}  # Grasp.msg SOURCE_MODEL, SOURCE_GEOMETRY
MASK_ALPHA = 110  # of 255: the overlay's opacity where an object is
_PREFIX = struct.Struct(">BI")


def colour_hex(object_id: int) -> str:
    """The object's colour as ``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*object_colour(object_id))


def stamp_ns(header) -> int:
    """A std_msgs/Header's stamp in nanoseconds."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def grasp_summary(array) -> dict:
    """A GraspArray as JSON-ready data: stamp, frame, image size, objects, grasps (with pose where posed)."""
    grasps = []
    for grasp in array.grasps:
        entry = {"object_id": int(grasp.object_id), "score": float(grasp.score), "x": float(grasp.center_x),
                 "y": float(grasp.center_y), "angle": float(grasp.angle), "width": float(grasp.width),
                 "jaw": float(grasp.jaw_size), "track_id": int(grasp.track_id), "has_pose": bool(grasp.has_pose),
                 "source": GRASP_SOURCES.get(int(grasp.source), "model")}
        if grasp.has_pose:
            p, q = grasp.pose.position, grasp.pose.orientation
            entry["pose"] = {"position": [p.x, p.y, p.z], "orientation": [q.x, q.y, q.z, q.w],
                             "width_m": _finite(grasp.width_m), "depth_m": _finite(grasp.depth_m)}
        grasps.append(entry)
    objects = [{"id": int(o.id), "visible": bool(o.visible), "presence": float(o.presence_score),
                "state": int(o.state), "bbox": [float(v) for v in o.bbox], "mask_area": int(o.mask_area),
                "frames_lost": int(o.frames_lost), "colour": colour_hex(int(o.id))} for o in array.objects]
    return {"stamp": str(stamp_ns(array.header)), "frame_id": array.header.frame_id,
            "frame_index": int(array.frame_index), "width": int(array.image_width),
            "height": int(array.image_height), "processing_ms": float(array.processing_ms),
            "objects": objects, "grasps": grasps}


def pack(kind: int, header: dict, payload: bytes) -> bytes:
    """One packet (see the module docstring)."""
    text = json.dumps(header, separators=(",", ":")).encode()
    return _PREFIX.pack(kind, len(text)) + text + payload


def unpack(packet: bytes) -> tuple[int, dict, bytes]:
    """(kind, header, payload) of a packet; ValueError when it is not one."""
    if len(packet) < _PREFIX.size:
        raise ValueError(f"a packet of {len(packet)} bytes is too short")
    kind, length = _PREFIX.unpack_from(packet)
    end = _PREFIX.size + length
    if end > len(packet):
        raise ValueError(f"packet header says {length} bytes, the packet has {len(packet) - _PREFIX.size}")
    return kind, json.loads(packet[_PREFIX.size:end]), packet[end:]


def display_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """The page's image size: the camera's, shrunk (aspect kept) to at most ``max_width`` wide."""
    if width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


def frame_packet(rgb: np.ndarray, summary: dict, max_width: int, jpeg_quality: int, times_ms: dict) -> bytes:
    """A FRAME packet of ``rgb`` ([H, W, 3] uint8) with ``summary`` (``grasp_summary``) and ``times_ms``."""
    height, width = rgb.shape[:2]
    size = display_size(width, height, max_width)
    if size != (width, height):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise ValueError(f"a {width}x{height} image could not be encoded as JPEG")
    header = {**summary, "jpeg_width": size[0], "jpeg_height": size[1], **times_ms}
    return pack(FRAME, header, jpeg.tobytes())


def mask_packet(labels: np.ndarray, stamp: str, max_width: int) -> bytes:
    """A MASK packet of an [H, W] label image (pixel = object id, 0 = none), each id in its colour."""
    height, width = labels.shape
    size = display_size(width, height, max_width)
    if size != (width, height):
        labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
    ids = [int(i) for i in np.unique(labels) if i]
    bgra = np.zeros((*labels.shape, 4), np.uint8)
    for object_id in ids:
        r, g, b = object_colour(object_id)
        bgra[labels == object_id] = (b, g, r, MASK_ALPHA)
    ok, png = cv2.imencode(".png", bgra)
    if not ok:
        raise ValueError(f"a {width}x{height} mask could not be encoded as PNG")
    return pack(MASK, {"stamp": stamp, "ids": ids}, png.tobytes())

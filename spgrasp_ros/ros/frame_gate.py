"""The tracker's door for camera frames: malformed messages are turned away before they queue, and frames that
still cannot be read are rejected when decoded, each kind of problem said once.

``admit`` runs in the image callback and only looks at sizes (no decoding): an Image with no pixels or with
fewer data bytes than ``step`` x ``height`` (or rows shorter than the encoding needs), or a CompressedImage
without data, is counted and dropped there, so it never becomes the newest frame a prompt would be applied to.
``decode`` runs in the worker: a message that is admitted but cannot be read (an unsupported encoding, a
corrupt JPEG) is counted and dropped. Each problem kind (its encoding and what is wrong) is warned once; at
most ``MAX_KINDS`` kinds are remembered, after that warnings are throttled, so a publisher that varies its
encoding string cannot grow memory or flood the log.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from spgrasp_ros.ros import image_messages

MAX_KINDS = 32  # problem kinds warned once each; beyond, one warning per THROTTLE_S
THROTTLE_S = 10.0


def size_problem(msg: Image | CompressedImage) -> str | None:
    """What makes the message unreadable by its sizes alone, or None."""
    if isinstance(msg, CompressedImage):
        return None if len(msg.data) else "compressed image without data"
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    if width <= 0 or height <= 0:
        return f"{msg.encoding!r} image without pixels ({width}x{height})"
    needed = width * (image_messages.bytes_per_pixel(msg.encoding) or 1)  # unknown encodings: 1 at least
    if step < needed:
        return f"{msg.encoding!r} image with step {step} < {needed} bytes a row ({width} px)"
    if len(msg.data) < step * height:
        return f"{msg.encoding!r} image with {len(msg.data)} data bytes < step {step} x height {height}"
    return None


class FrameGate:
    """Counts and words for unreadable frames (see the module docstring)."""

    def __init__(self) -> None:
        self.malformed = 0  # turned away by admit (image callback)
        self.unreadable = 0  # rejected by decode (worker)
        self._said: set[str] = set()

    @property
    def rejected(self) -> int:
        """Every frame turned away or rejected."""
        return self.malformed + self.unreadable

    def admit(self, msg: Image | CompressedImage, logger) -> bool:
        """True when the message may queue; False (counted, said once per kind) for a malformed one."""
        problem = size_problem(msg)
        if problem is None:
            return True
        self.malformed += 1
        self._say(problem, logger)
        return False

    def decode(self, msg: Image | CompressedImage, logger) -> np.ndarray | None:
        """The frame as HxWx3 RGB, or None (counted, said once per kind) when it cannot be read."""
        try:
            return image_messages.message_to_rgb(msg)
        except ValueError as error:  # UnsupportedEncoding included
            self.unreadable += 1
            self._say(str(error), logger)
            return None

    def _say(self, problem: str, logger) -> None:
        if problem in self._said:
            return
        if len(self._said) < MAX_KINDS:
            self._said.add(problem)
            logger.warning(f"frame dropped: {problem}; frames like it are dropped and counted")
        else:
            logger.warning(f"frame dropped: {problem} (more kinds of unreadable frames than {MAX_KINDS}; "
                           "these are counted in /diagnostics)", throttle_duration_sec=THROTTLE_S)

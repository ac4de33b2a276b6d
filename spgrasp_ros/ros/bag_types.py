"""The message types rosbags reads and writes: ROS 2 Jazzy's standard ones plus this package's ``msg/*.msg``.

rosbags carries no definitions of custom messages; they are parsed from the package's own ``.msg`` files (the
installed ``share/spgrasp_ros/msg``, else the source checkout's ``msg/``), so a bag holding ``/grasp_poses``
(``spgrasp_ros/msg/GraspArray``) is written with its full definition and type hash (the MCAP schema that
Foxglove and ``ros2 bag`` decode it by; the hash equals rosidl's) and read back without ROS.
"""

from __future__ import annotations

import functools
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "spgrasp_ros"
IMAGE, COMPRESSED, INFO = "sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/CameraInfo"
GRASP_ARRAY = f"{PACKAGE}/msg/GraspArray"


def _msg_folders() -> list[Path]:
    """Where this package's .msg files may be: the installed share folder, then the source checkout."""
    folders = []
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            folders.append(Path(get_package_share_directory(PACKAGE)) / "msg")
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    folders.append(Path(__file__).resolve().parents[2] / "msg")
    return folders


@functools.lru_cache(maxsize=1)
def typestore() -> Typestore:
    """Jazzy's types and this package's messages (parsed once). FileNotFoundError naming the folders looked
    in when the .msg files are nowhere."""
    store = get_typestore(Stores.ROS2_JAZZY)
    folder = next((f for f in _msg_folders() if (f / "GraspArray.msg").is_file()), None)
    if folder is None:
        raise FileNotFoundError(f"the {PACKAGE} message definitions (GraspArray.msg) are in none of "
                                f"{', '.join(str(f) for f in _msg_folders())}")
    types = {}
    for path in sorted(folder.glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(encoding="utf-8"), f"{PACKAGE}/msg/{path.stem}"))
    store.register(types)
    return store

"""File discovery shared by the readers."""

from __future__ import annotations

import re
from pathlib import Path


def group_files(root: Path, glob: str, pattern: re.Pattern) -> dict[tuple[Path, str], dict[str, Path]]:
    """(folder, stem) -> {kind: path} for every file under ``root`` matching ``glob`` whose name matches
    ``pattern`` with group 1 = the item's stem and group 2 = the kind of file (e.g. image, annotations)."""
    items: dict[tuple[Path, str], dict[str, Path]] = {}
    for path in root.rglob(glob):
        match = pattern.match(path.name)
        if match and path.is_file():
            items.setdefault((path.parent, match.group(1)), {})[match.group(2)] = path
    return items

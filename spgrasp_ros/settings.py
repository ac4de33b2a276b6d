"""Parsing of the small textual settings every command shares: ``key=value`` overrides and ``WxH`` sizes.

One implementation for the trainer, the bench and the command line (detectron2's style: a YAML tree or a
dataclass, then ``key.sub=value`` overrides whose values are read as YAML).
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml


def parse_overrides(items: Iterable[str]) -> list[tuple[str, Any]]:
    """``["a=1", "b.c=[x, y]"]`` -> ``[("a", 1), ("b.c", ["x", "y"])]`` (values parsed as YAML).

    Raises ValueError naming an item that is not ``key=value``.
    """
    pairs = []
    for item in items:
        key, sep, text = str(item).partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {item!r} is not key=value")
        pairs.append((key.strip(), yaml.safe_load(text)))
    return pairs


def apply_overrides(tree: dict, items: Iterable[str]) -> dict:
    """Set each ``key.sub=value`` of ``items`` in ``tree`` (in place, in order; returns ``tree``)."""
    for key, value in parse_overrides(items):
        set_dotted(tree, key, value)
    return tree


def set_dotted(tree: dict, key: str, value: Any) -> None:
    """Set ``tree[a][b][c] = value`` for ``key`` = ``"a.b.c"`` (creating the inner mappings)."""
    parts = key.split(".")
    for part in parts[:-1]:
        inner = tree.setdefault(part, {})
        if not isinstance(inner, dict):
            raise ValueError(f"override {key!r}: {part!r} is not a mapping")
        tree = inner
    tree[parts[-1]] = value


def parse_size(text: str, what: str = "size") -> tuple[int, int]:
    """``"640x480"`` -> ``(640, 480)``; ValueError naming ``what`` for anything else (both sides >= 1)."""
    try:
        width, height = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"{what} must be WxH (e.g. 640x480), got {text!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"{what} must be at least 1x1, got {text!r}")
    return width, height


def parse_box(text: str) -> tuple[float, float, float, float]:
    """``x0,y0,x1,y1`` -> a box [px]; ValueError naming the text."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ValueError(f"--box {text!r}: expected x0,y0,x1,y1 in pixels")
    return values

"""Declared, validated node parameters: one spec per parameter, checked when read and whenever set.

A node lists its parameters once (name, default, description, check, whether it may change at run time);
``declare`` declares them with descriptors, ``read`` returns validated values (every problem in one
ValueError), and ``validator`` is an ``add_on_set_parameters_callback`` that refuses bad values and, while
``frozen()`` is true, changes to parameters that only take effect at configure. Defaults that a ROS-free
config dataclass also holds are taken from it (the one source of defaults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

Check = Callable[[Any], str | None]  # value -> a problem, or None when fine


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a node."""

    name: str
    default: bool | int | float | str
    description: str
    check: Check | None = None
    runtime: bool = False  # may change on a configured node (else only while unconfigured)


def one_of(*choices: str) -> Check:
    """Check: the value is one of ``choices``."""
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}, got {value!r}"


def in_range(low: float, high: float) -> Check:
    """Check: low <= value <= high."""
    return lambda value: None if low <= value <= high else f"must be in [{low}, {high}], got {value!r}"


def odd_in_range(low: int, high: int) -> Check:
    """Check: an odd value with low <= value <= high."""
    return lambda value: None if low <= value <= high and value % 2 == 1 else \
        f"must be odd and in [{low}, {high}], got {value!r}"


def at_least(low: float) -> Check:
    """Check: value >= low."""
    return lambda value: None if value >= low else f"must be >= {low}, got {value!r}"


def finite(value: float) -> str | None:
    """Check: a finite number."""
    return None if math.isfinite(value) else f"must be finite, got {value!r}"


def not_blank(value: str) -> str | None:
    """Check: a string with more than white space."""
    return None if value.strip() else "must not be empty"


def _problem(spec: ParamSpec, value: Any) -> str | None:
    if isinstance(spec.default, bool) != isinstance(value, bool) or (
            not isinstance(value, type(spec.default))
            and not (isinstance(spec.default, float) and isinstance(value, int))):
        return f"{spec.name} must be a {type(spec.default).__name__}, got {type(value).__name__} {value!r}"
    problem = spec.check(value) if spec.check else None
    return f"{spec.name} {problem}" if problem else None


def declare(node: Node, specs: Iterable[ParamSpec], read_only: bool = False) -> None:
    """Declare every parameter with its description (values from launch / params files override defaults).

    Dynamically typed, so that ``-p rate:=10`` for a float is not refused by rclpy before ``read`` converts or
    explains it. ``read_only``: a plain node that reads every parameter once at start.
    """
    for spec in specs:
        note = " (read at start)" if read_only else "" if spec.runtime else " (read at configure)"
        node.declare_parameter(spec.name, spec.default, ParameterDescriptor(
            description=spec.description + note, read_only=read_only, dynamic_typing=True))


def read(node: Node, specs: Iterable[ParamSpec]) -> dict[str, Any]:
    """Current values by name; raises ValueError naming every invalid one."""
    values, problems = {}, []
    for spec in specs:
        value = node.get_parameter(spec.name).value
        if isinstance(spec.default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        problem = _problem(spec, value)
        if problem:
            problems.append(problem)
        values[spec.name] = value
    if problems:
        raise ValueError("invalid parameters: " + "; ".join(problems))
    return values


def validator(specs: Iterable[ParamSpec],
              frozen: Callable[[], bool]) -> Callable[[list[Parameter]], SetParametersResult]:
    """An on-set-parameters callback: refuses invalid values, and configure-time ones while ``frozen()``."""
    by_name = {spec.name: spec for spec in specs}

    def check(parameters: list[Parameter]) -> SetParametersResult:
        for parameter in parameters:
            spec = by_name.get(parameter.name)
            if spec is None:
                continue
            problem = _problem(spec, parameter.value)
            if problem is None and not spec.runtime and frozen():
                problem = (f"{spec.name}: read at start only (at configure): deactivate and clean up the node "
                           "to change it")
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        return SetParametersResult(successful=True)

    return check

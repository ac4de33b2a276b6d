"""Declared, validated node parameters: one spec per parameter, checked when read and whenever set.

A node lists its parameters once (name, default, description, check, whether it may change at run time);
``declare`` declares them with ROS parameter descriptors (the type fixed by the default, the range of range
checks as ``floating_point_range`` / ``integer_range``, read-only where they are read once), ``read`` returns
validated values (every problem in one ValueError), ``validator`` is an ``add_on_set_parameters_callback``
that refuses bad values, and ``set_configure_time_read_only`` makes the parameters that only take effect at
configure read-only while a lifecycle node is configured (``ros2 param describe`` tells the truth). Defaults
that a ROS-free config dataclass also holds are taken from it (the one source of defaults).

Types are static: a value of another type is refused by rclpy (``ros2 param set`` of an integer on a float
parameter no longer turns it into an integer parameter). The one exception is made at declaration: an integer
given for a float parameter (``-p rate_hz:=10``, a YAML ``1``) is taken as that float. A value of a wrong
type in a launch or parameter file is not a crash at start: the default is declared and ``read`` reports the
bad value (configure fails, or the node's start, with that one line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node
from rclpy.parameter import Parameter

Check = Callable[[Any], str | None]  # value -> a problem, or None when fine
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a node."""

    name: str
    default: bool | int | float | str | list
    description: str
    check: Check | None = None
    runtime: bool = False  # may change on a configured node (else only while unconfigured)
    any_type: bool = False  # dynamically typed (e.g. a path or a camera index); ``read`` checks it


@dataclass(frozen=True)
class Range:
    """Check: low <= value <= high (and odd when ``odd``); also the descriptor's range."""

    low: float
    high: float
    odd: bool = False

    def __call__(self, value: Any) -> str | None:
        inside = self.low <= value <= self.high
        if self.odd:
            return None if inside and value % 2 == 1 else f"must be odd and in [{self.low}, {self.high}], got {value!r}"
        if inside:
            return None
        return f"must be in [{self.low}, {self.high}], got {value!r}" if math.isfinite(self.high) else \
            f"must be >= {self.low}, got {value!r}"


def in_range(low: float, high: float) -> Range:
    """Check: low <= value <= high."""
    return Range(low, high)


def odd_in_range(low: int, high: int) -> Range:
    """Check: an odd value with low <= value <= high."""
    return Range(low, high, odd=True)


def at_least(low: float) -> Range:
    """Check: value >= low."""
    return Range(low, math.inf)


def one_of(*choices: str) -> Check:
    """Check: the value is one of ``choices``."""
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}, got {value!r}"


def finite(value: float) -> str | None:
    """Check: a finite number."""
    return None if math.isfinite(value) else f"must be finite, got {value!r}"


def not_blank(value: str) -> str | None:
    """Check: a string with more than white space."""
    return None if value.strip() else "must not be empty"


def _problem(spec: ParamSpec, value: Any) -> str | None:
    if not spec.any_type and (isinstance(spec.default, bool) != isinstance(value, bool) or (
            not isinstance(value, type(spec.default))
            and not (isinstance(spec.default, float) and isinstance(value, int)))):
        return f"{spec.name} must be a {type(spec.default).__name__}, got {type(value).__name__} {value!r}"
    problem = spec.check(value) if spec.check else None
    return f"{spec.name} {problem}" if problem else None


def descriptor(spec: ParamSpec, read_only: bool = False) -> ParameterDescriptor:
    """The ROS descriptor of ``spec``: description (with when it is read), fixed type, range, read-only."""
    note = " (read at start)" if read_only else "" if spec.runtime else " (read at configure; read-only while " \
        "configured)"
    result = ParameterDescriptor(description=spec.description + note, read_only=read_only,
                                 dynamic_typing=spec.any_type)
    check = spec.check
    if isinstance(check, Range) and not isinstance(spec.default, bool):
        if isinstance(spec.default, float):
            result.floating_point_range = [FloatingPointRange(from_value=float(check.low),
                                                              to_value=float(check.high), step=0.0)]
        elif isinstance(spec.default, int):
            high = int(check.high) if math.isfinite(check.high) else _INT64_MAX
            result.integer_range = [IntegerRange(from_value=int(check.low), to_value=high,
                                                 step=2 if check.odd else 0)]
    return result


def declare(node: Node, specs: Iterable[ParamSpec], read_only: bool = False) -> None:
    """Declare every parameter with its descriptor (values from launch / params files override defaults).

    ``read_only``: a plain node that reads every parameter once at start. An integer override of a float
    parameter becomes that float; an override of a wrong type is kept aside for ``read`` to report (module
    notes).
    """
    problems = node.__dict__.setdefault("_spgrasp_parameter_problems", {})
    overrides = getattr(node, "_parameter_overrides", {})  # rclpy's launch / file values by name
    for spec in specs:
        given = overrides.get(spec.name)
        if given is not None and isinstance(spec.default, float) and given.type_ == Parameter.Type.INTEGER:
            overrides[spec.name] = Parameter(spec.name, Parameter.Type.DOUBLE, float(given.value))
        try:
            node.declare_parameter(spec.name, spec.default, descriptor(spec, read_only))
        except (InvalidParameterTypeException, InvalidParameterValueException):
            problems[spec.name] = _problem(spec, given.value) or f"{spec.name}: {given.value!r} is not allowed"
            problems[spec.name] += " (from the launch or parameter file; the default was declared)"
            node.declare_parameter(spec.name, spec.default, descriptor(spec, read_only), ignore_override=True)


def read(node: Node, specs: Iterable[ParamSpec]) -> dict[str, Any]:
    """Current values by name; raises ValueError naming every invalid one (also wrong-typed overrides)."""
    values, problems = {}, list(node.__dict__.get("_spgrasp_parameter_problems", {}).values())
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


def set_configure_time_read_only(node: Node, specs: Iterable[ParamSpec], read_only: bool) -> None:
    """Mark the parameters read at configure (not ``runtime``) read-only, or writable again (at cleanup).

    rclpy refuses to change a read-only descriptor through its API, so the stored descriptor is updated in
    place; rclpy checks ``read_only`` on every set and reports it in ``describe_parameters``."""
    stored = node._descriptors  # rclpy's descriptors by parameter name
    for spec in specs:
        if not spec.runtime and spec.name in stored:
            stored[spec.name].read_only = read_only


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

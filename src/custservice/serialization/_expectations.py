"""The stored form of expectation bands and of :class:`~custservice.Expectations`.

A band is written as its five fields (its cached ``lower`` flag is derived,
never stored); expectations as their default bands and each segment's bands.
Reading a band or a set of expectations lists every problem at once, the
rules of the class included, each at its path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import Problem, ValidationError
from ._paths import (
    UNREAD,
    join_path,
    path_step,
    problems_of,
    rule_problems,
    unexpected_fields,
)
from ._scalars import structure_level, structure_str

__all__ = ["configure_expectations"]


def configure_expectations(conv: Any) -> None:
    """Register the hooks of bands, expectations and metric names on ``conv``."""
    from .. import enums
    from .._validation import member
    from ..expectations import ExpectationBand, Expectations, metric_key

    def structure_metric(value: object, _: object) -> enums.Metric | str:
        return metric_key(value, "")

    def unstructure_band(band: ExpectationBand) -> dict[str, Any]:
        return {
            "factor": band.factor.value,
            "metric": str(band.metric),
            "adequate": conv.unstructure(band.adequate),
            "desired": conv.unstructure(band.desired),
            "better": band.better,
        }

    band_fields = ("factor", "metric", "adequate", "desired", "better")
    band_readers: tuple[tuple[str, Callable[[object], Any]], ...] = (
        ("factor", lambda v: member(enums.Factor, v, "")),
        ("metric", lambda v: metric_key(v, "")),
        ("adequate", lambda v: structure_level(v, None)),
        ("desired", lambda v: structure_level(v, None)),
        ("better", lambda v: v),  # the class says what is allowed
    )

    def structure_band(data: object, _: object) -> ExpectationBand:
        if not isinstance(data, Mapping):
            raise ValidationError(f"expected an object, got {type(data).__name__}")
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        failed: set[str] = set()
        for key, read in band_readers:
            if key not in data:
                if key != "better":
                    problems.append(Problem(key, "required field missing"))
                    failed.add(key)
                    values[key] = UNREAD
                continue
            try:
                values[key] = read(data[key])
            except Exception as exc:  # whatever a reader raises is a problem of that field
                problems.extend(problems_of(exc, key))
                failed.add(key)
                values[key] = UNREAD
        extra = [k for k in data if k not in band_fields]
        if extra:
            problems.append(Problem("", unexpected_fields(extra)))
        if not problems:
            return ExpectationBand(**values)
        raise ValidationError(problems + rule_problems(ExpectationBand, values, failed))

    def unstructure_expectations(value: Expectations) -> dict[str, Any]:
        return {
            "defaults": [unstructure_band(b) for b in value.defaults.values()],
            "segments": {
                name: [unstructure_band(b) for b in bands.values()]
                for name, bands in value.segments.items()
            },
        }

    band_list = list[ExpectationBand]

    def structure_expectations(data: object, _: object) -> Expectations:
        if not isinstance(data, Mapping):
            raise ValidationError(f"expected an object, got {type(data).__name__}")
        problems: list[Problem] = []
        extra = [k for k in data if k not in ("defaults", "segments")]
        if extra:
            problems.append(Problem("", unexpected_fields(extra)))
        defaults: list[ExpectationBand] | None = None
        try:
            defaults = conv.structure(data.get("defaults", []), band_list)
        except Exception as exc:  # whatever the hooks raise is a problem at its path
            problems.extend(problems_of(exc, "defaults"))
        segments: dict[str, list[ExpectationBand]] = {}
        given = data.get("segments", {})
        if not isinstance(given, Mapping):
            problems.append(Problem("segments", f"expected an object, got {type(given).__name__}"))
            given = {}
        for name, bands in given.items():
            # Each segment on its own, so one bad segment hides nothing of the others.
            where = join_path("segments", path_step(name))
            try:
                segments[structure_str(name, None)] = conv.structure(bands, band_list)
            except Exception as exc:  # whatever the hooks raise is a problem at its path
                problems.extend(problems_of(exc, where))
        refused: ValidationError | None = None
        if not problems and defaults is not None:
            try:
                return Expectations(defaults=defaults, segments=segments)
            except ValidationError as exc:
                refused = exc  # find which part broke which rule, below
        if defaults is not None:
            problems.extend(rule_problems(Expectations, {"defaults": defaults}, set()))
        for name, bands in segments.items():
            where = join_path("segments", path_step(name))
            found = rule_problems(Expectations, {"segments": {name: bands}}, set())
            problems.extend(Problem(where, p.message) for p in found)
        raise ValidationError(problems) if problems or refused is None else refused

    conv.register_unstructure_hook(ExpectationBand, unstructure_band)
    conv.register_structure_hook(ExpectationBand, structure_band)
    conv.register_unstructure_hook(Expectations, unstructure_expectations)
    conv.register_structure_hook(Expectations, structure_expectations)
    conv.register_structure_hook(enums.Metric | str, structure_metric)

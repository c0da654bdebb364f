"""Plain data and JSON for every domain object, with an exact round trip.

One cattrs converter, built on first use (so importing ``custservice`` does
not pay for cattrs), with hooks for pendulum types: datetimes as ISO 8601
with the zone name in brackets, durations as ISO 8601 durations, dates as
ISO dates. A custom attribute (``Case.attributes``) that holds a date is
written ``{"date": "2026-03-01"}`` and one that holds an instant
``{"datetime": "2026-03-01T09:00:00+01:00[Europe/Paris]"}``, so that text
which merely looks like a date stays text. A field with a default may be
absent from the data: records stored before it existed read with it at its
default. Bad input gives one :class:`~custservice.ValidationError` that
lists every problem with its path: ``$``, then ``.name`` for a field or a key
that is a plain name, ``[3]`` for a position in a list and ``["gold tier"]``
for any other key (``$.lifecycle.history[1].at``, ``$.ratings.speed``).

Every hook reads the whole of its value before it gives up, and raises one
``ValidationError`` whose paths are relative to that value; the hook above
puts its own step in front. A collection of the wrong shape (text or an
object where a list belongs, anything but an object where an object belongs)
is refused as a whole, never read item by item.

The package is the one owner of the stored and wire forms. Its modules:
``_converter`` (the converter and the four functions), ``_paths`` (problems
and their paths), ``_scalars`` and ``_collections`` (structure hooks),
``_expectations``, ``_lifecycles`` and ``_policies`` (the hooks of bands,
lifecycle positions and conditions), and the fast codec the storage backends use: ``_codec`` (its
functions), ``_codegen`` (its encoders and decoders, generated from the
classes' fields) and ``_texts`` (single values as text and back). The
codec and ``_schema`` (:func:`json_schema`, the JSON Schema of the
``to_dict`` form) read the classes' fields through one walk over types,
``_shapes``.
"""

from __future__ import annotations

from ._converter import from_dict, from_json, to_dict, to_json
from ._converter import register as register
from ._schema import json_schema

__all__ = ["from_dict", "from_json", "json_schema", "to_dict", "to_json"]

"""Fast JSON text for stored records, shared by the SQL backends.

The stored form of a record is exactly :func:`custservice.to_json` of it
(the :func:`~custservice.to_dict` form, compact, non-ASCII kept as is), so
``export`` and moving between backends stay simple. This module writes and
reads that form without going through cattrs:

- :func:`encode` (and :func:`columns`, which adds the indexed columns) writes
  the text ``to_json`` writes, by hand: about 2.5× faster;
- :func:`decode` builds the objects straight from ``json.loads`` output,
  without re-running validation (DESIGN §5: a validated attrs instance costs
  about 20× a tuple, and the library wrote these rows itself), the way the
  lifecycle engine builds its own states (``lifecycle._state``, a
  :class:`History` over a log of tuples). Datetimes are read with
  ``datetime.fromisoformat`` and the zone named in brackets, not
  ``pendulum.parse``: about 4× faster than ``from_dict``.

``tests/test_sqlite.py`` checks, over the shared Hypothesis strategies, that
the text equals ``to_json`` and the objects equal ``from_dict``'s; a change
to a record's fields or to the lifecycle internals shows up there.

Only text this library wrote may be decoded here: anything else must go
through :func:`custservice.from_dict`, which checks every field.
:func:`decode` raises ``KeyError``, ``TypeError`` or ``ValueError`` on text
of another shape; the backends turn that into a ``StorageError``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring
from typing import Any, TypeVar

import pendulum

from .._mapping import own
from .._time import (
    _zone,
    at_wall_time,
    format_datetime,
    format_duration,
    micros,
    parse_datetime,
    parse_duration,
)
from ..cases import Case, CaseUpdate
from ..customers import Customer
from ..enums import Channel, Factor, Metric, ServiceArea
from ..expectations import (
    BINARY,
    CES_7,
    CSAT_5,
    NPS_SCALE,
    SATISFACTION_10,
    ExpectationBand,
    ScoreScale,
)
from ..feedback import Feedback
from ..interactions import Handoff, Interaction
from ..lifecycle import LifecycleState, _entries, _restored, _state

__all__ = ["columns", "decode", "decode_many", "encode", "micros"]

R = TypeVar("R", Customer, Interaction, Case)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_loads = json.loads
_quote: Callable[[str], str] = encode_basestring
_quote_state: Callable[[Any], str] = encode_basestring  # stored records' states are text
_new = object.__new__
_fromisoformat = dt.datetime.fromisoformat
_DateTime = pendulum.DateTime
_Date = pendulum.Date


def encode(record: Customer | Interaction | Case, version: int | None = None) -> str:
    """``record`` as its stored JSON text: the same text as ``to_json(record)``.

    Args:
        record: a customer, interaction or case.
        version: the version to write instead of ``record.version`` (the
            bulk path stores records as version 1 without copying them).

    Raises:
        TypeError: ``record`` is not a customer, interaction or case.
    """
    return columns(record, version)[3]


owner_text: Callable[[uuid.UUID], str] = functools.lru_cache(maxsize=65_536)(uuid.UUID.__str__)
"""A customer's id as text, remembered: in bulk paths one customer owns many records,
and ``UUID.__str__`` runs Python code each time."""


def columns(
    record: Customer | Interaction | Case, version: int | None = None
) -> tuple[str, str, int, str]:
    """What a SQL backend stores for ``record``: its id, its customer's id, its opening
    time in UTC microseconds, and its JSON text (as :func:`encode`).

    For a customer, the customer's id is its own id and the opening time is ``created_at``.

    Raises:
        TypeError: ``record`` is not a customer, interaction or case.
    """
    kind = type(record)
    if version is None:
        version = record.version
    if kind not in _DECODERS:  # a subclass: store it as its base class
        kind = next((base for base in _DECODERS if isinstance(record, base)), kind)
    if kind is Interaction:
        i: Interaction = record  # type: ignore[assignment]
        rid, owner = str(i.id), owner_text(i.customer_id)
        return rid, owner, micros(i.opened_at), _interaction_text(i, version, rid, owner)
    if kind is Customer:
        c: Customer = record  # type: ignore[assignment]
        rid = str(c.id)
        return rid, rid, micros(c.created_at), _customer_text(c, version, rid)
    if kind is Case:
        k: Case = record  # type: ignore[assignment]
        rid, owner = str(k.id), owner_text(k.customer_id)
        return rid, owner, micros(k.opened_at), _case_text(k, version, rid, owner)
    raise TypeError(f"cannot encode a {kind.__name__}")


def decode(cls: type[R], text: str | bytes) -> R:
    """Rebuild a record of type ``cls`` from text :func:`encode` wrote, without validation.

    The result equals ``from_dict(cls, json.loads(text))``.

    Raises:
        KeyError: the text does not have the shape ``encode`` writes (also
            ``TypeError``, ``ValueError``; the backends report a ``StorageError``).
    """
    build: Callable[[dict[str, Any], dict[str, Any]], R] = _DECODERS[cls]
    return build(_loads(text), {})


def decode_many(cls: type[R], texts: Iterable[str | bytes]) -> list[R]:
    """:func:`decode` for a page of rows, sharing equal values between them.

    Records read together often share values (one customer's id on every
    interaction of ``for_customer``): each distinct id or time is built once.
    """
    build: Callable[[dict[str, Any], dict[str, Any]], R] = _DECODERS[cls]
    loads = _loads
    seen: dict[str, Any] = {}
    return [build(loads(text), seen) for text in texts]


# --- encoding -----------------------------------------------------------------
#
# The top level of each record is written straight into the text (ids, times
# and enum values need no escaping; free text goes through the json module's
# own string encoder); rarer nested parts go through ``_dumps``. The result is
# character for character what ``json.dumps(to_dict(record), ensure_ascii=False,
# separators=(",", ":"))`` writes, which the tests check.


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _time_text(value: dt.datetime | None) -> str:
    return "null" if value is None else f'"{format_datetime(value)}"'


def _level(value: Any) -> Any:
    return format_duration(value) if isinstance(value, dt.timedelta) else value


def _lifecycle_text(state: LifecycleState, since: str) -> str:
    history = state.history
    if not history:
        return f'{{"current":{_quote_state(state.current)},"since":"{since}","history":[]}}'
    changes = ",".join(
        [
            f'{{"event":{_quote(e)},"source":{_quote_state(s)},"target":{_quote_state(t)},'
            f'"at":"{format_datetime(at)}","reason":{_text(r)}}}'
            for e, s, t, at, r in _entries(history)
        ]
    )
    return f'{{"current":{_quote_state(state.current)},"since":"{since}","history":[{changes}]}}'


def _band_dict(band: ExpectationBand) -> dict[str, Any]:
    return {
        "factor": band.factor.value,
        "metric": str(band.metric),
        "adequate": _level(band.adequate),
        "desired": _level(band.desired),
        "better": band.better,
    }


def _words(values: frozenset[str]) -> str:
    return _dumps(sorted(values)) if values else "[]"


def _customer_text(c: Customer, version: int, rid: str) -> str:
    created = c.created_at
    at = format_datetime(created)
    state = c.lifecycle
    since = at if state.since is created else format_datetime(state.since)
    birthday = "null" if c.birthday is None else f'"{c.birthday.isoformat()}"'
    channel = "null" if c.preferred_channel is None else _quote(c.preferred_channel.value)
    bands = _dumps([_band_dict(b) for b in c.expectations]) if c.expectations else "[]"
    return (
        f'{{"id":"{rid}","name":{_quote(c.name)},"created_at":"{at}",'
        f'"lifecycle":{_lifecycle_text(state, since)},"email":{_text(c.email)},'
        f'"phone":{_text(c.phone)},"birthday":{birthday},'
        f'"timezone":{_text(c.timezone)},"segment":{_text(c.segment)},'
        f'"likes":{_words(c.likes)},"dislikes":{_words(c.dislikes)},'
        f'"hobbies":{_words(c.hobbies)},"preferred_channel":{channel},'
        f'"expectations":{bands},"version":{int(version)}}}'
    )


def _feedback_dict(f: Feedback) -> dict[str, Any]:
    s = f.scale
    return {
        "score": f.score,
        "scale": {
            "low": s.low,
            "high": s.high,
            "adequate": s.adequate,
            "desired": s.desired,
            "name": s.name,
        },
        "at": format_datetime(f.at),
        "comment": f.comment,
        "ratings": {k.value: v for k, v in f.ratings.items()},
    }


def _interaction_text(i: Interaction, version: int, rid: str, owner: str) -> str:
    opened = i.opened_at
    at = format_datetime(opened)
    state = i.lifecycle
    since = at if state.since is opened else format_datetime(state.since)
    case_id = "null" if i.case_id is None else f'"{i.case_id}"'
    handoffs = (
        _dumps([{"to": h.to, "at": format_datetime(h.at), "reason": h.reason} for h in i.handoffs])
        if i.handoffs
        else "[]"
    )
    feedback = "null" if i.feedback is None else _dumps(_feedback_dict(i.feedback))
    root = "null" if i.root_cause is None else _quote(i.root_cause.value)
    return (
        f'{{"id":"{rid}","customer_id":"{owner}","channel":{_quote(i.channel.value)},'
        f'"opened_at":"{at}","lifecycle":{_lifecycle_text(state, since)},'
        f'"topic":{_text(i.topic)},"case_id":{case_id},"agent":{_text(i.agent)},'
        f'"handoffs":{handoffs},"resolved_at":{_time_text(i.resolved_at)},'
        f'"feedback":{feedback},"root_cause":{root},"version":{int(version)}}}'
    )


def _case_text(c: Case, version: int, rid: str, owner: str) -> str:
    opened = c.opened_at
    at = format_datetime(opened)
    state = c.lifecycle
    since = at if state.since is opened else format_datetime(state.since)
    updates = (
        _dumps([{"at": format_datetime(u.at), "from_customer": u.from_customer} for u in c.updates])
        if c.updates
        else "[]"
    )
    root = "null" if c.root_cause is None else _quote(c.root_cause.value)
    return (
        f'{{"id":"{rid}","customer_id":"{owner}","subject":{_quote(c.subject)},'
        f'"opened_at":"{at}","lifecycle":{_lifecycle_text(state, since)},'
        f'"promised_by":{_time_text(c.promised_by)},"updates":{updates},'
        f'"root_cause":{root},"version":{int(version)}}}'
    )


# --- decoding -----------------------------------------------------------------

_set_uuid_int = uuid.UUID.__dict__["int"].__set__
_set_uuid_safe = uuid.UUID.__dict__["is_safe"].__set__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid(text: str) -> uuid.UUID:
    value = _new(uuid.UUID)
    _set_uuid_int(value, int(text.replace("-", ""), 16))
    _set_uuid_safe(value, _UNKNOWN)
    return value


def _shared_uuid(text: str, seen: dict[str, Any]) -> uuid.UUID:
    """A UUID that other records of a page likely hold too (a customer's, a case's)."""
    value: uuid.UUID | None = seen.get(text)
    if value is None:
        value = seen[text] = _uuid(text)
    return value


_ZONES: dict[str, pendulum.Timezone] = {}
_UTC = _zone("UTC")


def _datetime(text: str, seen: dict[str, Any]) -> pendulum.DateTime:
    """A datetime :func:`~custservice._time.format_datetime` wrote, memoised in ``seen``."""
    value: pendulum.DateTime | None = seen.get(text)
    if value is not None:
        return value
    head, _, zone = text.partition("[")
    if zone == "UTC]":  # the common case: one offset, no fold to work out
        v = _fromisoformat(head)
        value = seen[text] = _DateTime(
            v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, _UTC
        )
        return value
    tz = _ZONES.get(zone)
    if tz is None:
        if not zone.endswith("]"):
            # A fixed offset (no zone name): rare; the slow path keeps its exact rules.
            value = seen[text] = parse_datetime(text)
            return value
        tz = _ZONES[zone] = _zone(zone[:-1])
    try:
        v = _fromisoformat(head).astimezone(tz)
    except OverflowError:  # within a day of year 1 or 9999: the trip through UTC overflows
        value = seen[text] = at_wall_time(_fromisoformat(head), tz, "at")
        return value
    value = seen[text] = _DateTime(
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tz, fold=v.fold
    )
    return value


def _opt_datetime(text: str | None, seen: dict[str, Any]) -> pendulum.DateTime | None:
    return None if text is None else _datetime(text, seen)


def _lifecycle(data: dict[str, Any], seen: dict[str, Any]) -> LifecycleState:
    history = _restored(
        [
            (c["event"], c["source"], c["target"], _datetime(c["at"], seen), c["reason"])
            for c in data["history"]
        ]
    )
    return _state(data["current"], _datetime(data["since"], seen), history)


def _setters(cls: type, *names: str) -> tuple[Callable[[object, object], None], ...]:
    slots = [cls.__dict__[name] for name in names]
    return tuple(s.__set__ for s in slots)


_FACTORS: dict[str, Factor] = {f.value: f for f in Factor}
_METRICS: dict[str, Metric] = {m.value: m for m in Metric}
_CHANNELS: dict[str, Channel] = {c.value: c for c in Channel}
_AREAS: dict[str, ServiceArea] = {a.value: a for a in ServiceArea}

_band_factor, _band_metric, _band_adequate, _band_desired, _band_better, _band_lower = _setters(
    ExpectationBand, "factor", "metric", "adequate", "desired", "better", "_lower"
)


def _read_level(value: Any) -> Any:
    return parse_duration(value, "") if isinstance(value, str) else value


def _band(data: dict[str, Any]) -> ExpectationBand:
    band = _new(ExpectationBand)
    metric = data["metric"]
    better = data["better"]
    _band_factor(band, _FACTORS[data["factor"]])
    _band_metric(band, _METRICS.get(metric, metric))
    _band_adequate(band, _read_level(data["adequate"]))
    _band_desired(band, _read_level(data["desired"]))
    _band_better(band, better)
    _band_lower(band, better == "lower")
    return band


(
    _c_id,
    _c_name,
    _c_created_at,
    _c_lifecycle,
    _c_email,
    _c_phone,
    _c_birthday,
    _c_timezone,
    _c_segment,
    _c_likes,
    _c_dislikes,
    _c_hobbies,
    _c_channel,
    _c_expectations,
    _c_version,
) = _setters(
    Customer,
    "id",
    "name",
    "created_at",
    "lifecycle",
    "email",
    "phone",
    "birthday",
    "timezone",
    "segment",
    "likes",
    "dislikes",
    "hobbies",
    "preferred_channel",
    "expectations",
    "version",
)

_NO_TEXT: frozenset[str] = frozenset()


def _customer(data: dict[str, Any], seen: dict[str, Any]) -> Customer:
    c = _new(Customer)
    birthday = data["birthday"]
    channel = data["preferred_channel"]
    likes, dislikes, hobbies = data["likes"], data["dislikes"], data["hobbies"]
    _c_id(c, _uuid(data["id"]))
    _c_name(c, data["name"])
    _c_created_at(c, _datetime(data["created_at"], seen))
    _c_lifecycle(c, _lifecycle(data["lifecycle"], seen))
    _c_email(c, data["email"])
    _c_phone(c, data["phone"])
    _c_birthday(c, None if birthday is None else _Date.fromisoformat(birthday))
    _c_timezone(c, data["timezone"])
    _c_segment(c, data["segment"])
    _c_likes(c, frozenset(likes) if likes else _NO_TEXT)
    _c_dislikes(c, frozenset(dislikes) if dislikes else _NO_TEXT)
    _c_hobbies(c, frozenset(hobbies) if hobbies else _NO_TEXT)
    _c_channel(c, None if channel is None else _CHANNELS[channel])
    _c_expectations(c, tuple(map(_band, data["expectations"])))
    _c_version(c, data["version"])
    return c


_h_to, _h_at, _h_reason = _setters(Handoff, "to", "at", "reason")


def _handoff(data: dict[str, Any], seen: dict[str, Any]) -> Handoff:
    h = _new(Handoff)
    _h_to(h, data["to"])
    _h_at(h, _datetime(data["at"], seen))
    _h_reason(h, data["reason"])
    return h


_s_low, _s_high, _s_adequate, _s_desired, _s_name = _setters(
    ScoreScale, "low", "high", "adequate", "desired", "name"
)
_SCALES: dict[tuple[Any, ...], ScoreScale] = {
    (s.low, s.high, s.adequate, s.desired, s.name): s
    for s in (SATISFACTION_10, CSAT_5, NPS_SCALE, CES_7, BINARY)
}
_MAX_SCALES = 256


def _scale(data: dict[str, Any]) -> ScoreScale:
    key = (data["low"], data["high"], data["adequate"], data["desired"], data["name"])
    scale = _SCALES.get(key)
    if scale is None:
        scale = _new(ScoreScale)
        _s_low(scale, key[0])
        _s_high(scale, key[1])
        _s_adequate(scale, key[2])
        _s_desired(scale, key[3])
        _s_name(scale, key[4])
        if len(_SCALES) < _MAX_SCALES:  # scales are few; the bound only guards odd data
            _SCALES[key] = scale
    return scale


_f_score, _f_scale, _f_at, _f_comment, _f_ratings = _setters(
    Feedback, "score", "scale", "at", "comment", "ratings"
)


def _feedback(data: dict[str, Any], seen: dict[str, Any]) -> Feedback:
    f = _new(Feedback)
    _f_score(f, data["score"])
    _f_scale(f, _scale(data["scale"]))
    _f_at(f, _datetime(data["at"], seen))
    _f_comment(f, data["comment"])
    _f_ratings(f, own({_FACTORS[k]: v for k, v in data["ratings"].items()}))
    return f


(
    _i_id,
    _i_customer_id,
    _i_channel,
    _i_opened_at,
    _i_lifecycle,
    _i_topic,
    _i_case_id,
    _i_agent,
    _i_handoffs,
    _i_resolved_at,
    _i_feedback,
    _i_root_cause,
    _i_version,
) = _setters(
    Interaction,
    "id",
    "customer_id",
    "channel",
    "opened_at",
    "lifecycle",
    "topic",
    "case_id",
    "agent",
    "handoffs",
    "resolved_at",
    "feedback",
    "root_cause",
    "version",
)


def _interaction(data: dict[str, Any], seen: dict[str, Any]) -> Interaction:
    i = _new(Interaction)
    case_id = data["case_id"]
    handoffs = data["handoffs"]
    feedback = data["feedback"]
    root = data["root_cause"]
    _i_id(i, _uuid(data["id"]))
    _i_customer_id(i, _shared_uuid(data["customer_id"], seen))
    _i_channel(i, _CHANNELS[data["channel"]])
    _i_opened_at(i, _datetime(data["opened_at"], seen))
    _i_lifecycle(i, _lifecycle(data["lifecycle"], seen))
    _i_topic(i, data["topic"])
    _i_case_id(i, None if case_id is None else _shared_uuid(case_id, seen))
    _i_agent(i, data["agent"])
    _i_handoffs(i, tuple([_handoff(h, seen) for h in handoffs]) if handoffs else ())
    _i_resolved_at(i, _opt_datetime(data["resolved_at"], seen))
    _i_feedback(i, None if feedback is None else _feedback(feedback, seen))
    _i_root_cause(i, None if root is None else _AREAS[root])
    _i_version(i, data["version"])
    return i


_u_at, _u_from_customer = _setters(CaseUpdate, "at", "from_customer")


def _update(data: dict[str, Any], seen: dict[str, Any]) -> CaseUpdate:
    u = _new(CaseUpdate)
    _u_at(u, _datetime(data["at"], seen))
    _u_from_customer(u, data["from_customer"])
    return u


(
    _k_id,
    _k_customer_id,
    _k_subject,
    _k_opened_at,
    _k_lifecycle,
    _k_promised_by,
    _k_updates,
    _k_root_cause,
    _k_version,
) = _setters(
    Case,
    "id",
    "customer_id",
    "subject",
    "opened_at",
    "lifecycle",
    "promised_by",
    "updates",
    "root_cause",
    "version",
)


def _case(data: dict[str, Any], seen: dict[str, Any]) -> Case:
    k = _new(Case)
    updates = data["updates"]
    root = data["root_cause"]
    _k_id(k, _uuid(data["id"]))
    _k_customer_id(k, _shared_uuid(data["customer_id"], seen))
    _k_subject(k, data["subject"])
    _k_opened_at(k, _datetime(data["opened_at"], seen))
    _k_lifecycle(k, _lifecycle(data["lifecycle"], seen))
    _k_promised_by(k, _opt_datetime(data["promised_by"], seen))
    _k_updates(k, tuple([_update(u, seen) for u in updates]) if updates else ())
    _k_root_cause(k, None if root is None else _AREAS[root])
    _k_version(k, data["version"])
    return k


_DECODERS: dict[type, Callable[[dict[str, Any], dict[str, Any]], Any]] = {
    Customer: _customer,
    Interaction: _interaction,
    Case: _case,
}

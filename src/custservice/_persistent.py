"""Persistent append-only sequences: every version stays valid, and none copies the past.

A version of a sequence is a position in a tree of segments: the items of
one segment before an end index, after all the items its ancestors hold
before it. A segment is a plain ``list`` whose first slot is its
:data:`Header` (where it branched off) and whose other slots are items.
Appending to the newest version of a segment appends to the list in place;
appending to an older version (one the segment has moved on from) starts a
new segment whose parent is the old one (or, when the version holds only a
few items of its segment, a copy of those few). Either way the past is not
copied, and items below a version's end never change, so every version ever
made stays valid and can be read from any thread.

Segments are exact lists, not a subclass, because the interpreter's fast
paths for ``list.append`` and ``list[i]`` apply only to exact lists: firing
an event appends to one, and pays for nothing else.

Reading an index walks up from a version's segment to the one holding it.
Each segment's header keeps a jump pointer (Myers' skew-binary scheme, "An
applicative random-access stack", 1983), so the walk takes at most about
``2 log2(depth)`` steps, where depth counts the branches on the way from the
root, however a sequence was grown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any, Generic, TypeVar, overload

__all__ = [
    "COPY_AT_MOST",
    "Chain",
    "Header",
    "branch",
    "chain_of",
    "item",
    "items",
    "length",
    "reversed_items",
    "root",
    "select",
]

T = TypeVar("T")


Header = tuple[int, int, "list[Any] | None", "list[Any] | None"]
"""Slot 0 of every segment: ``(base, depth, parent, jump)``.

``base`` counts the items before the segment's first (in its ancestors),
``depth`` the segments above it; ``parent`` is the segment it continues and
``jump`` an ancestor further up, for walking up in logarithmic steps (both
``None`` for a root, whose jump is itself). A tuple: made and read in C.
"""

_ROOT: Header = (0, 0, None, None)  # every root segment's header: nothing comes before it

COPY_AT_MOST = 32
"""A branch copies a segment's items when it keeps at most this many of them: a bounded
cost, cheaper than a new level, and it keeps a history branched at every step shallow."""


def root() -> list[Any]:
    """A new root segment, with no items."""
    return [_ROOT]


def branch(parent: list[Any], end: int) -> list[Any]:
    """A new segment continuing ``parent``'s items before index ``end`` (slot 0 being the
    header, ``end`` >= 1), to append to.

    Costs the same whatever the lengths: at most :data:`COPY_AT_MOST` items are
    copied (with the header, so the copy continues what ``parent`` continues);
    past that, the new segment holds no items and points at ``parent``.
    """
    if end <= COPY_AT_MOST + 1:
        return parent[:end]
    base, depth, _, up = parent[0]
    if up is None:
        up = parent
    up_depth = up[0][1]
    upper = up[0][3]
    if upper is None:
        upper = up
    # Skew-binary jumps: leap twice as far when the two hops below are equal.
    jump = upper if depth - up_depth == up_depth - upper[0][1] else parent
    return [(base + end - 1, depth + 1, parent, jump)]


def length(segment: list[Any], end: int) -> int:
    """How many items the version ending at index ``end`` of ``segment`` holds."""
    return segment[0][0] + end - 1  # type: ignore[no-any-return]


def item(segment: list[Any], index: int) -> Any:
    """The item at ``index`` of a version whose last segment is ``segment``.

    ``index`` must lie within the version (0 <= index < its length).
    """
    head: Header = segment[0]
    if index >= head[0]:
        return segment[index - head[0] + 1]
    while head[0] > index:
        # A segment with items before it is no root: it has a parent and a jump. Still
        # too far down at the jump target: leap; otherwise step one up.
        jump = head[3]
        assert jump is not None
        segment = jump if jump[0][0] > index else head[2]  # type: ignore[assignment]
        head = segment[0]
    return segment[index - head[0] + 1]


def items(segment: list[Any], end: int) -> Iterator[Any]:
    """The items of the version ending at index ``end`` of ``segment``, oldest first."""
    head: Header = segment[0]
    if head[2] is None:
        return islice(segment, 1, end)
    runs = []
    while True:
        runs.append(islice(segment, 1, end))
        parent = head[2]
        if parent is None:
            break
        end = head[0] - parent[0][0] + 1
        segment = parent
        head = parent[0]
    runs.reverse()
    return chain.from_iterable(runs)


def reversed_items(segment: list[Any], end: int) -> Iterator[Any]:
    """The items of the version ending at index ``end`` of ``segment``, newest first."""
    while True:
        for i in range(end - 1, 0, -1):
            yield segment[i]
        head: Header = segment[0]
        parent = head[2]
        if parent is None:
            return
        end = head[0] - parent[0][0] + 1
        segment = parent


def select(segment: list[Any], end: int, index: slice) -> list[Any]:
    """The items a slice of a version picks, in the slice's order."""
    head: Header = segment[0]
    picked = range(head[0] + end - 1)[index]
    if head[2] is None:
        return [segment[i + 1] for i in picked]
    return [item(segment, i) for i in picked]


class Chain(Sequence[T], Generic[T]):
    """An immutable sequence that grows by one item without copying: a tuple for records
    that accumulate (a case's updates, an interaction's handoffs).

    It reads as a tuple does: index it (negative indexes too), slice it (a
    slice is a ``tuple``), iterate it, ``reversed()``, ``len()``, ``in``,
    ``index`` and ``count``. It equals a tuple or another chain holding equal
    items in the same order (and hashes as that tuple does), never a list;
    its ``repr`` is the tuple's. ``+`` with a tuple or a chain gives a tuple.

    :meth:`appended` returns a new chain one item longer and leaves this one
    as it is, at the same cost whatever the length and whichever version it
    is called on.

    Args:
        values: the items, oldest first.

    Examples:
        >>> one = Chain(["a", "b"])
        >>> two = one.appended("c")
        >>> two == ("a", "b", "c"), one == ("a", "b"), two[-1]
        (True, True, 'c')
    """

    __slots__ = ("_end", "_segment")

    _segment: list[Any]
    _end: int  # the index, in the segment, just past this chain's last item

    def __init__(self, values: Iterable[T] = ()) -> None:
        segment = root()
        segment.extend(values)
        self._segment = segment
        self._end = len(segment)

    def appended(self, value: T) -> Chain[T]:
        """A new chain: this one's items, then ``value``. This chain is unchanged."""
        segment = self._segment
        end = self._end
        # In place when this is the newest version of its segment. Of two threads that
        # both see it so, the one whose item did not land at ``end`` branches instead.
        if len(segment) == end:
            segment.append(value)
            if segment[end] is not value:
                segment = branch(segment, end)
                end = len(segment)
                segment.append(value)
        else:
            segment = branch(segment, end)
            end = len(segment)
            segment.append(value)
        new: Chain[T] = object.__new__(Chain)
        new._segment = segment
        new._end = end + 1
        return new

    def __len__(self) -> int:
        return length(self._segment, self._end)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        segment = self._segment
        if isinstance(index, slice):
            return tuple(select(segment, self._end, index))
        n = length(segment, self._end)
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("index out of range")
        return item(segment, i)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[T]:
        return items(self._segment, self._end)

    def __reversed__(self) -> Iterator[T]:
        return reversed_items(self._segment, self._end)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Chain):
            if other._segment is self._segment and other._end == self._end:
                return True
        elif not isinstance(other, tuple):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __add__(self, other: object) -> tuple[T, ...]:
        if not isinstance(other, tuple | Chain):
            return NotImplemented
        return (*self, *other)

    def __radd__(self, other: object) -> tuple[T, ...]:
        if not isinstance(other, tuple):
            return NotImplemented
        return (*other, *self)

    def __repr__(self) -> str:
        return repr(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Chain, (tuple(self),))


def chain_of(values: object) -> Chain[Any]:
    """``values`` as a :class:`Chain`: a chain as it is, any other iterable copied once."""
    if isinstance(values, Chain):
        return values
    return Chain(values)  # type: ignore[arg-type]

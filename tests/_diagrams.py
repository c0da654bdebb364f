"""Lifecycles with awkward names, and a reader of the Mermaid diagrams they draw.

Shared by the lifecycle tests (which read diagrams with :func:`parse_diagram`)
and the browser test (which has Mermaid itself read them).
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

from custservice.lifecycle import Lifecycle, Transition

AWKWARD = st.sampled_from(
    [
        "s0",
        "s1",
        "s12",
        "state",
        "note",
        "default",
        "click",
        "href",
        "class",
        "classDef",
        "style",
        "scale",
        "direction",
        "end",
        "as",
        "root",
        "constructor",
        "__proto__",
        "[*]",
        "-->",
        "a;b",
        "x\ny",
        "tab\there",
        'say "hi"',
        "a:b",
        "a::b",
        "%%{init: {}}%%",
        "%% comment",
        "#59;",
        "#quot;",
        "<b>bold</b>",
        "[[fork]]",
        "<<choice>>",
        "direction LR",
        "hide empty description",
        "accTitle: x",
        "  padded  ",
        "two  spaces",
        "end note",
        "{",
        "}",
        "`md`",
        "back\\slash",
        "a\u2028b",
        "caf\u00e9 \u263a",
    ]
) | st.text(min_size=1, max_size=10).filter(str.strip)

DECLARED = re.compile(r'^    state "([^"]*)" as (s[0-9]+)$')
STARTS = re.compile(r"^    \[\*\] --> (s[0-9]+)$")
MOVES = re.compile(r"^    (s[0-9]+) --> (s[0-9]+): (.+)$")
ENDS = re.compile(r"^    (s[0-9]+) --> \[\*\]$")
PLAIN = re.compile(r"[A-Za-z0-9_ .,!?'()+*/=@$^~|\-]")


def unescape(label: str) -> str:
    """A label as Mermaid shows it: every ``#NNN;`` is the character numbered NNN."""
    return re.sub(r"#([0-9]+);", lambda m: chr(int(m.group(1))), label)


def check_label(label: str) -> str:
    """Check that a label holds nothing Mermaid reads as syntax, and return its text."""
    rest = re.sub(r"#[0-9]+;", "", label)
    for char in rest:
        assert PLAIN.fullmatch(char) or (char.isprintable() and not char.isascii()), label
    assert label == label.strip(" "), label  # Mermaid would trim it
    assert "  " not in label, label  # or collapse it
    assert "direction" not in label.lower(), label
    return unescape(label)


def parse_diagram(text: str) -> tuple[list[str], str, set[tuple[str, str, str]], set[str]]:
    """The states (labels, in order), the initial state, the transitions
    ``(source, label, target)`` and the final states a diagram draws."""
    lines = text.split("\n")
    assert lines[0] == "stateDiagram-v2"
    ids: dict[str, str] = {}
    initial = None
    moves: set[tuple[str, str, str]] = set()
    ends: set[str] = set()
    for line in lines[1:]:
        if declared := DECLARED.match(line):
            assert declared.group(2) not in ids, "an alias used twice"
            ids[declared.group(2)] = check_label(declared.group(1))
        elif starts := STARTS.match(line):
            assert initial is None
            initial = ids[starts.group(1)]
        elif moves_match := MOVES.match(line):
            source, target, label = moves_match.groups()
            event, _, guard = label.partition(" #91;")
            if guard:
                assert guard.endswith("#93;")
                check_label(guard.removesuffix("#93;"))
            moves.add((ids[source], check_label(event), ids[target]))
        elif ends_match := ENDS.match(line):
            ends.add(ids[ends_match.group(1)])
        else:
            raise AssertionError(f"a line the diagram should not have: {line!r}")
    assert initial is not None
    return list(ids.values()), initial, moves, ends


@st.composite
def awkward_lifecycles(draw: st.DrawFn) -> Lifecycle:
    """Lifecycles whose state and event names are anything a user might type."""
    names = draw(st.lists(AWKWARD, min_size=1, max_size=6, unique=True))
    transitions = []
    for i, name in enumerate(names[1:], start=1):
        source = names[draw(st.integers(0, i - 1))]
        event = draw(AWKWARD)
        if any(t.event == event and source in t.sources for t in transitions):
            event = f"{event} {i}"  # one event leads one way from a state
        transitions.append(Transition(event, source, name))
    for source, target in draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)))):
        event = draw(AWKWARD)
        if all(t.event != event or source not in t.sources for t in transitions):
            transitions.append(Transition(event, source, target))
    return Lifecycle("awkward", names[0], transitions)


# What Mermaid keeps of an entity code while it parses: ``#59;`` becomes this marker
# text, which it turns into the HTML reference ``&#59;`` when it draws.
MERMAID_ENTITY = re.compile("\ufb02\u00b0\u00b0([0-9]+)\u00b6\u00df")


def mermaid_text(parsed: str) -> str:
    """A label as Mermaid parsed it, with its entity codes read back into characters."""
    return MERMAID_ENTITY.sub(lambda m: chr(int(m.group(1))), parsed)

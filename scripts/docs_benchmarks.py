"""The benchmarks page's results, shown as each benchmark's last recorded run printed them.

An mkdocs hook (``mkdocs.yml``, ``hooks:``). ``benchmarks/run.py --record NAME``
keeps what the module ``benchmarks/bench_NAME.py`` printed, with the date, the
command and the machine, in ``docs/benchmarks/NAME.json`` (``_harness.Recording``
says what the file holds). The page asks for a module's result with a marker on
a line of its own, ``<!-- recorded: benchmarks/run.py NAME -->``; the built page
holds, in its place, the run's facts and its lines: each run of ``report`` lines
as a table whose cells are the parts of the lines as printed, every other line
as printed. A marker naming a benchmark with no recorded result fails the build.

No figure on the page is typed by hand: to change one, run the benchmark again.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

MARKER = re.compile(r"<!-- recorded: benchmarks/run\.py (\w+) -->")
RECORDED = "benchmarks"
"""The folder of the docs tree that holds each recorded result, as ``NAME.json``."""

COLUMNS = ("What", "Figure", "Baseline", "Ratio", "Aim")
CELLS = ("what", "figure", "baseline", "ratio", "aim")


def recorded(docs_dir: Path, name: str) -> dict[str, Any] | None:
    """The recorded result of ``benchmarks/bench_NAME.py``, or ``None``."""
    path = docs_dir / RECORDED / f"{name}.json"
    if not path.exists():
        return None
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def on_page_content(html_text: str, page: Any, config: Any, **kwargs: Any) -> str:
    """Each recorded-result marker of the page, replaced by that result."""

    def result(match: re.Match[str]) -> str:
        name = match.group(1)
        found = recorded(Path(config["docs_dir"]), name)
        if found is None:
            raise PluginError(
                f"{page.file.src_uri}: no recorded result for {name!r}: "
                f"run benchmarks/run.py --record {name}"
            )
        return render(found)

    return MARKER.sub(result, html_text)


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _facts(result: dict[str, Any]) -> str:
    machine = result["machine"]
    one, five, fifteen = machine["load_average"]
    postgres = machine["postgresql"] or "none reachable"
    quick = " (quick sizes)" if result["quick"] else ""
    return (
        f'<p class="cs-recorded__facts">Recorded {_e(result["date"])}{quick}, '
        f"in {result['seconds']:,.0f} s, with <code>{_e(result['command'])}</code>, "
        f"on Python {_e(machine['python'])}, SQLite {_e(machine['sqlite'])}, "
        f"PostgreSQL {_e(postgres)}, {_e(machine['system'])}, {machine['cores']} cores, "
        f"load average {one}, {five}, {fifteen} (1, 5 and 15 minutes) at the start "
        f'(<a href="{_e(result["benchmark"])}.json">the record</a>).</p>'
    )


def _table(rows: list[dict[str, str]]) -> str:
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(row[c]) or '—'}</td>" for c in CELLS) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _groups(lines: list[str | dict[str, str]]) -> Iterator[tuple[bool, list[Any]]]:
    """Consecutive lines of one kind: ``(True, rows)`` for report lines, else
    ``(False, lines)``."""
    group: list[Any] = []
    kind = None
    for line in lines:
        is_row = isinstance(line, dict)
        if group and is_row != kind:
            yield bool(kind), group
            group = []
        kind = is_row
        group.append(line)
    if group:
        yield bool(kind), group


def render(result: dict[str, Any]) -> str:
    """A recorded result as HTML: its facts, then its lines as they were printed."""
    parts = [_facts(result)]
    for rows, group in _groups(result["lines"]):
        if rows:
            parts.append(_table(group))
        else:
            printed = [line.strip() for line in group if line.strip()]
            if printed:
                parts.append(
                    '<p class="cs-recorded__printed">' + "<br>".join(map(_e, printed)) + "</p>"
                )
    return f'<div class="cs-recorded">{"".join(parts)}</div>'

"""The service report: what the demo prints and ``custservice report`` shows for any store.

:func:`build_report` reads a store through the analytics and returns a
:class:`Report`, plain data; :func:`render_text` and :func:`render_html` turn
it into a terminal page or one self-contained HTML file (inline SVG charts
and CSS, no scripts, no network fetches). A store of the shared SQL core
computes what it can in its database and reads only the records the risk
list and the follow-up planner need; any other store is read as a stream.
Both give the same report of the same records.

The report depends only on what is stored and on the instant it describes,
so the same store and ``at`` always give byte-identical output.

It shows customers' names, never their contact details or birthdays:
birthday greetings due are counted, not listed, since a name beside a date
tells the birthday. Text from the store is made safe for where it lands:
escaped in HTML, control characters replaced in the terminal.
"""

from ._build import build_report, latest_change
from ._desk import OpenCases
from ._funnel import FUNNEL as FUNNEL
from ._model import AtRisk, Report
from ._operations import Operations
from ._policies import PolicyAttainment
from .html import render_html
from .text import render_text

__all__ = [
    "AtRisk",
    "OpenCases",
    "Operations",
    "PolicyAttainment",
    "Report",
    "build_report",
    "latest_change",
    "render_html",
    "render_text",
]

"""The ``custservice`` command line: the demo, reports, exports, migrations, backends, lifecycles.

Errors a user can cause (a bad option, a bad URL, a store to report on that
does not exist, a store that is not a custservice database) print one line
on stderr and exit with status 2; nothing prints a traceback. An interrupted
run exits with 130, and output cut short by a closed pipe (``custservice
report ... | head``) ends quietly with 141, as if killed by ``SIGPIPE``.

The report goes to stdout; the progress bar and its notes go to stderr, and
only when stderr is a terminal (``--quiet`` turns them off there too).
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from . import __version__
from .errors import CustServiceError

if TYPE_CHECKING:
    import datetime as dt

    import pendulum

    from .storage.protocols import Store

DEFAULT_DEMO_FILE = "custservice-demo.db"
"""The demo's store when ``--store`` is not given: a SQLite file in the working directory."""

LIFECYCLES = {
    "customer": "CUSTOMER_LIFECYCLE",
    "interaction": "INTERACTION_CYCLE",
    "case": "CASE_LIFECYCLE",
}
"""The built-in lifecycles ``custservice lifecycle NAME`` prints, by name."""

EXPORT_KINDS = ("cases", "interactions", "customers")
"""What ``custservice export --kind`` writes."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, as every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="custservice",
        description="Model customer service: a demo, service reports, backends and lifecycles.",
    )
    parser.add_argument("--version", action="version", version=f"custservice {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="simulate a customer base into a store, then print a service report",
        description="Simulate a year of a customer base into a store (the same seed gives "
        "the same result), then print its service report.",
    )
    demo.add_argument(
        "--store",
        metavar="URL",
        help=f"an empty store to write to (default: sqlite:///{DEFAULT_DEMO_FILE}, "
        "made afresh on each run)",
    )
    demo.add_argument(
        "--customers", type=_positive, default=1000, metavar="N", help="default: 1000"
    )
    demo.add_argument("--months", type=_positive, default=12, metavar="M", help="default: 12")
    demo.add_argument("--seed", type=_whole, default=7, metavar="S", help="default: 7")
    demo.add_argument("--html", metavar="FILE", help="also write the report as one HTML file")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    report = commands.add_parser(
        "report",
        help="print the service report of a store",
        description="Print the service report of a store.",
    )
    report.add_argument("--store", metavar="URL", required=True, help="the store to report on")
    report.add_argument("--html", metavar="FILE", help="also write the report as one HTML file")
    report.add_argument(
        "--at",
        type=_instant,
        metavar="WHEN",
        help="the instant targets, risks and follow-ups are evaluated at, ISO 8601 with an "
        "offset, such as 2027-01-05T08:00:00+00:00 (default: the latest change in the "
        "store); counts always cover every stored record",
    )
    report.add_argument(
        "--tenant",
        metavar="NAME",
        help="report on one tenant's records only (default: every tenant's)",
    )

    migrate = commands.add_parser(
        "migrate",
        help="create or upgrade a store's tables to this version's schema",
        description="Bring a store's database to the schema of this version of custservice, "
        "in one transaction: create the tables in a database that has none, or upgrade an "
        "older schema with nothing lost.",
    )
    migrate.add_argument("--store", metavar="URL", required=True, help="the store to migrate")

    commands.add_parser(
        "backends",
        help="list the storage backends and where they come from",
        description="List the URL schemes a store can be opened with, and the package and "
        "callable that serve each.",
    )
    lifecycle = commands.add_parser(
        "lifecycle",
        help="print a built-in lifecycle as a Mermaid state diagram",
        description="Print a built-in lifecycle as a Mermaid state diagram.",
    )
    lifecycle.add_argument("name", choices=sorted(LIFECYCLES))

    export = commands.add_parser(
        "export",
        help="write a store's cases, interactions or customers as CSV or Parquet",
        description="Write one flat row per case, interaction or customer of a store, as CSV "
        "or Parquet (the arrow extra), for BI tools and spreadsheets; each row leads with "
        "the tenant its record belongs to. No personal data is written unless "
        "--personal-data is given.",
    )
    export.add_argument("--store", metavar="URL", required=True, help="the store to export")
    export.add_argument("--kind", choices=EXPORT_KINDS, required=True, help="what to export")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv", help="default: csv")
    export.add_argument("--output", metavar="FILE", help="the file to write (default: stdout)")
    export.add_argument(
        "--tenant", metavar="NAME", help="one tenant's records only (default: every tenant's)"
    )
    export.add_argument(
        "--personal-data",
        action="store_true",
        help="include names, contact details, birthdays and free text",
    )
    return parser


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _instant(text: str) -> pendulum.DateTime:
    from ._time import parse_datetime

    try:
        return parse_datetime(text, "at")
    except CustServiceError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date and time with an offset, such as "
            f"2027-01-05T08:00:00+00:00, got {text!r}"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (by default ``sys.argv[1:]``).

    Args:
        argv: the arguments, without the program name.

    Returns:
        The exit status: 0 on success, 2 for a user error (after one line on
        stderr), 130 when interrupted, 141 when stdout was closed early.
    """
    args = _parser().parse_args(argv)
    thresholds = gc.get_threshold()
    # A command builds and drops records by the hundred thousand, none of them in a
    # reference cycle: the cyclic collector, left to run every 700 new containers,
    # spends a fifth of a report's time finding nothing. Restored on the way out, for
    # a caller in the same process.
    gc.set_threshold(100_000, 20, 20)
    # A report reads its aggregates ahead in a second thread, which needs the interpreter
    # for a moment at each row it hands back: at the default 5 ms a hand-over, the
    # reads beside a busy main thread took three times as long as alone.
    switching = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        if args.command == "demo":
            status = _demo(args)
        elif args.command == "report":
            status = _report(args.store, args.html, args.at, args.tenant)
        elif args.command == "migrate":
            status = _migrate(args.store)
        elif args.command == "export":
            status = _export(args)
        elif args.command == "backends":
            status = _backends()
        else:
            status = _lifecycle(args.name)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except CustServiceError as exc:
        return _fail(_one_line(exc))
    except BrokenPipeError:
        # Whoever read stdout has gone; silence the final flush and stop like `head` expects.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        return _fail("interrupted", status=130)
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switching)


def _fail(message: str, *, status: int = 2) -> int:
    """Say what went wrong in one line on stderr; returns the exit status."""
    newline = "\n" if sys.stderr.isatty() else ""  # past a progress bar
    print(f"{newline}custservice: {message}", file=sys.stderr)
    return status


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _backends() -> int:
    from .storage.registry import backend_origins

    for scheme, origin in backend_origins().items():
        print(f"{scheme:<12} {origin}")
    return 0


def _migrate(url: str) -> int:
    from .storage.migration import migrate
    from .storage.sql.schema import VERSION

    found = migrate(url)
    if found == 0:
        done = f"created the tables (schema version {VERSION})"
    elif found == VERSION:
        done = f"already at schema version {VERSION}; nothing to do"
    else:
        done = f"upgraded from schema version {found} to {VERSION}"
    print(f"{_shown(url)}: {done}")
    return 0


def _lifecycle(name: str) -> int:
    from . import lifecycles

    print(getattr(lifecycles, LIFECYCLES[name]).to_mermaid())
    return 0


def _shown(url: str) -> str:
    """``url`` fit to print: any password hidden."""
    from .storage.registry import redact

    return redact(url)


def _open_existing(url: str) -> Store:
    """Open a store to report on, only if it exists.

    Every backend is asked not to create one (``create=False``): a mistyped
    file name or schema would otherwise make an empty store, and the report
    would describe it.
    """
    from .storage.registry import open_store

    return open_store(url, create=False)


def _html_target(html: str | None) -> Path | None:
    """Where ``--html`` writes, checked before any work is done."""
    if html is None:
        return None
    target = Path(html)
    if target.is_dir():
        raise IsADirectoryError(21, "is a directory, not a file", html)
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(2, "no such directory", str(parent))
    return target


def _export(args: argparse.Namespace) -> int:
    from .export import write_csv, write_parquet

    target = _html_target(args.output)
    parquet = args.format == "parquet"
    if parquet and target is None and sys.stdout.isatty():
        raise CustServiceError("Parquet is binary: give --output FILE or redirect stdout")
    kind, personal = args.kind, args.personal_data
    with _open_existing(args.store) as opened:
        store = _scope(opened, args.store, args.tenant)
        if target is None:
            if parquet:
                sys.stdout.flush()
                write_parquet(store, sys.stdout.buffer, kind=kind, personal_data=personal)
            else:
                write_csv(store, sys.stdout, kind=kind, personal_data=personal)
            return 0
        try:
            if parquet:
                written = write_parquet(store, target, kind=kind, personal_data=personal)
            else:
                with target.open("w", encoding="utf-8", newline="") as out:
                    written = write_csv(store, out, kind=kind, personal_data=personal)
        except BaseException:
            target.unlink(missing_ok=True)  # no half-written file to be taken for an export
            raise
    print(f"{written} {kind} written to {target}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .simulation import DEMO_TENANTS, simulate
    from .storage.registry import open_store

    html = _html_target(args.html)
    url = args.store
    if url is None:
        path = Path(DEFAULT_DEMO_FILE)
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)  # the demo's own file, made afresh each run
        url = f"sqlite:///{path}"
    interactive = not args.quiet and sys.stderr.isatty()
    with open_store(url) as store:
        if store.customers.count():
            raise CustServiceError(f"{_shown(url)} already holds customers; give an empty store")
        progress = _ProgressBar(sys.stderr) if interactive else None
        result = simulate(
            store,
            customers=args.customers,
            months=args.months,
            seed=args.seed,
            progress=progress,
            tenants=DEMO_TENANTS,
        )
        if progress is not None:
            progress.done("building the report…")
        print(
            f"Simulated {result.customers} customers, {result.interactions} interactions and "
            f"{result.cases} cases over {args.months} months into {_shown(url)}.\n"
        )
        _print_report(store, result.ended_at, html)
        if not url.startswith("memory:"):
            again = (
                f"custservice report --store {shlex.quote(_shown(url))} "
                f"--at {result.ended_at.isoformat()}"
            )
            print(
                f"\nThe same report again, from the store:\n  {again}\n"
                f"One organisation's ({', '.join(DEMO_TENANTS)}):\n"
                f"  {again} --tenant {DEMO_TENANTS[0]}"
            )
    return 0


def _report(url: str, html: str | None, at: pendulum.DateTime | None, tenant: str | None) -> int:
    target = _html_target(html)
    with _open_existing(url) as store:
        _print_report(_scope(store, url, tenant), at, target)
    return 0


def _scope(store: Store, url: str, tenant: str | None) -> Store:
    """``store`` as ``tenant`` sees it (``None``: every tenant)."""
    if tenant is None:
        return store
    scoped = getattr(store, "scoped", None)
    if scoped is None:
        raise CustServiceError(f"{_shown(url)} keeps no tenants apart: drop --tenant")
    view: Store = scoped(tenant)
    if not view.customers.count():  # a mistyped name: nothing there
        raise CustServiceError(f"{_shown(url)} holds no customers of tenant {tenant!r}")
    return view


def _print_report(store: Store, at: dt.datetime | None, html: Path | None) -> None:
    from .report import build_report, render_html, render_text
    from .simulation import DEMO_ESCALATIONS, DEMO_POLICIES, DEMO_SURVEY

    report = build_report(
        store, at=at, sla=DEMO_POLICIES, escalations=DEMO_ESCALATIONS, survey=DEMO_SURVEY
    )
    print(_for_terminal(render_text(report)), end="")
    if html is not None:
        html.write_text(render_html(report), encoding="utf-8")
        print(f"\nHTML report written to {html}")


def _for_terminal(text: str) -> str:
    """``text`` with its bar characters drawn in ASCII when stdout cannot show them."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        "█·…≥".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return text.translate(_ASCII_BARS)
    return text


_ASCII_BARS = str.maketrans({"█": "#", "·": ".", "…": "...", "≥": ">="})


class _ProgressBar:
    """A one-line progress bar for interactive terminals: share done, count, time left."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._shown = -1
        self._start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // total
        if percent == self._shown:
            return
        self._shown = percent
        filled = percent // 4
        elapsed = time.monotonic() - self._start
        left = elapsed * (total - done) / done if done else 0.0
        minutes, seconds = divmod(round(left), 60)
        self._stream.write(
            f"\r[{'#' * filled}{'.' * (25 - filled)}] {percent:3d}%  "
            f"{done}/{total} customers, about {minutes}:{seconds:02d} left\x1b[K"
        )
        self._stream.flush()

    def done(self, note: str) -> None:
        """End the bar's line with ``note``."""
        self._stream.write(f"\r[{'#' * 25}] 100%  {note}\x1b[K\n")
        self._stream.flush()


def run() -> None:
    """Console-script entry point: ``main()`` on ``sys.argv``, then exit with its status.

    Characters the terminal's encoding cannot show are replaced, never a
    crash.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    sys.exit(main())


if __name__ == "__main__":
    run()

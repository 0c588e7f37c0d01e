"""Command line: ``kldigital-site build | check | serve | new | status | clean``.

The only module that prints problems and chooses exit codes: 0 success, 1
content, reference or template errors, 2 wrong usage (click's own code).
``--now`` (before or after the command name) sets the clock every command
uses, for reproducible builds and for testing embargoes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import gc
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from kldigital_site import __version__
from kldigital_site.build import BuildResult, build
from kldigital_site.clitexts import german_click
from kldigital_site.commands.scaffold import ScaffoldError, ScaffoldKind, create
from kldigital_site.config import SiteConfig, load_config
from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.lock import site_lock
from kldigital_site.model import LeftOut
from kldigital_site.output import remove_tree
from kldigital_site.progress import BuildProgress

if TYPE_CHECKING:
    from kldigital_site.serve.server import BuildOutcome

CACHE_DIR_NAME = ".kldigital-cache"
PREVIEW_DIR = "output-vorschau"  # build --preview: the site for approval
# Naive --now values are German time, like naive dates in front matter.
CLOCK_ZONE = ZoneInfo("Europe/Berlin")
_NOW_KEY = "kldigital_now"


def parse_now(text: str) -> dt.datetime:
    """``--now``: ISO date or date and time; without an offset it is German time."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"„{text}“ ist kein Zeitpunkt; Beispiele: 2027-03-01, 2027-03-01T10:00, "
            "2027-03-01T10:00+01:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=CLOCK_ZONE)


def _store_now(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_root().meta[_NOW_KEY] = parse_now(value)


_now_option = click.option(
    "--now",
    metavar="ZEIT",
    expose_value=False,
    is_eager=True,
    callback=_store_now,
    help="Uhrzeit festlegen, die als „jetzt“ gilt (z. B. 2027-03-01T10:00; ohne Zone: deutsche "
    "Zeit). Für reproduzierbare Builds und zum Prüfen von Sperrfristen.",
)


def _site_options(command: Callable[..., Any], *, serve: bool = False) -> Callable[..., Any]:
    options = [
        click.option(
            "--content",
            "content_dir",
            type=click.Path(path_type=Path),
            default=Path("content"),
            metavar="ORDNER",
            help="Ordner mit den Inhalten (Standard: content).",
        ),
        click.option(
            "--templates",
            "templates_dir",
            type=click.Path(path_type=Path),
            default=Path("templates"),
            metavar="ORDNER",
            help="Ordner mit den Templates (Standard: templates).",
        ),
        click.option(
            "--base-url",
            metavar="ADRESSE",
            help="Adresse der Website (überschreibt base_url in site.yaml).",
        ),
        click.option("--strict", is_flag=True, help="Warnungen als Fehler behandeln."),
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            default=None,
            metavar="ANZAHL",
            help="Anzahl paralleler Prozesse (Standard: Zahl der CPUs).",
        ),
        click.option("--no-cache", is_flag=True, help="Zwischenspeicher nicht verwenden."),
        _now_option,
    ]
    if not serve:
        # serve never writes output/ and always shows drafts and embargoed items.
        options[2:2] = [
            click.option(
                "--output",
                "output_dir",
                type=click.Path(path_type=Path),
                default=None,
                metavar="ORDNER",
                help=f"Zielordner der erzeugten Website (Standard: output, mit --preview: "
                f"{PREVIEW_DIR}).",
            ),
        ]
        options[4:4] = [
            click.option("--drafts", is_flag=True, help="Entwürfe mit veröffentlichen."),
            click.option(
                "--future",
                is_flag=True,
                help="Beiträge mit Datum in der Zukunft (Sperrfrist) mit veröffentlichen.",
            ),
            click.option(
                "--preview",
                is_flag=True,
                help="Vorschau zur Freigabe erzeugen: mit Entwürfen und Sperrfristen, "
                "„Vorschau – nicht veröffentlicht“ auf jeder Seite, für Suchmaschinen "
                "gesperrt (siehe docs/deployment.md).",
            ),
            click.option(
                "--no-minify",
                is_flag=True,
                help="Seiten, CSS und JavaScript nicht verkleinern (lesbar, zum Vergleichen).",
            ),
        ]
    for option in reversed(options):
        command = option(command)
    return command


def _serve_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--poll",
        is_flag=True,
        help="Dateien regelmäßig abfragen statt benachrichtigen lassen (Netzlaufwerke).",
    )(command)
    command = click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=8000,
        metavar="PORT",
        help="Port der Vorschau (Standard: 8000).",
    )(command)
    command = click.option(
        "--host",
        default="127.0.0.1",
        metavar="ADRESSE",
        help="Adresse, an der die Vorschau lauscht (Standard: 127.0.0.1, nur dieser Rechner).",
    )(command)
    return _site_options(command, serve=True)


def _print_problems(problems: list[SiteError]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


def _load(options: dict[str, Any]) -> SiteConfig:
    preview: bool = options["preview"]
    # A preview never lands in output/ by accident: that folder is what gets published.
    output = options["output_dir"] or Path(PREVIEW_DIR if preview else "output")
    return load_config(
        options["content_dir"],
        options["templates_dir"],
        output,
        base_url=options["base_url"],
        drafts=options["drafts"],
        future=options["future"],
        preview_banner=preview,
        minify=not options.get("no_minify", False),
    )


def _fixed_now() -> dt.datetime | None:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    value = ctx.find_root().meta.get(_NOW_KEY)
    return value if isinstance(value, dt.datetime) else None


def _now() -> dt.datetime:
    return _fixed_now() or _source_date_epoch() or dt.datetime.now(dt.UTC)


def _source_date_epoch() -> dt.datetime | None:
    """The reproducible-builds clock (reproducible-builds.org/specs/source-date-epoch).

    The output embeds no build time; the clock only decides which embargoed releases
    are published, so the same sources and the same SOURCE_DATE_EPOCH give the same
    site on any day. ``--now`` wins over it.
    """
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or not value.strip():
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (ValueError, OverflowError, OSError):
        # The specification asks to fail rather than to fall back to the real time.
        raise click.UsageError(
            f"SOURCE_DATE_EPOCH={value!r} ist keine Zahl von Sekunden seit 1970."
        ) from None


# Allocations between two collections of the youngest generation in a build's workers
# (Python's default: 700), which render thousands of pages and free Jinja's cycles as
# they go (workers.py). A build's own process keeps nearly all it makes until it ends:
# 10,000 documents, their page records, two manifests of 67,000 files; with the default,
# an edit build at 10,000 items made 970 collections, 7 of them full ones over all of
# that: 0.45 s of its 3.3 s of CPU; with this threshold still ~0.1–0.2 s, each
# collection walking the 50,000 objects decoded since the last (issue 15).
_GC_YOUNG = 50_000


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """No cyclic garbage collection in this process for one build, and the thresholds
    raised for its workers, then all as it was (the preview sets its own,
    serve/server.py; tests run many builds in one process). What a build leaves in
    cycles is little: ~5 MB in an edit build at 10,000 items.

    What the build made is then set aside (``gc.freeze``): the first collection after
    it would walk every object it made, 0.2–0.35 s at 10,000 items, and so would the
    one as the interpreter exits. The next build in the same process (tests) makes it
    collectable again first, so nothing is kept from the collector for longer."""
    before = gc.get_threshold()
    enabled = gc.isenabled()
    gc.unfreeze()
    gc.set_threshold(_GC_YOUNG, 20, 100)
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(*before)
        if enabled:
            gc.enable()


def _run(options: dict[str, Any], *, write: bool) -> BuildResult:
    started = time.perf_counter()
    try:
        config = _load(options)
        with BuildProgress() as progress, _few_collections():
            result = build(
                config,
                now=_now(),
                write=write,
                strict=options["strict"],
                jobs=options["jobs"],
                use_cache=not options["no_cache"],
                progress=progress,
                on_wait=_tell_waiting if write else None,
            )
    except BuildFailed as failed:
        _print_problems(failed.problems)
        errors = sum(1 for p in failed.problems if p.is_error)
        click.echo(f"Abgebrochen: {errors} Fehler. Die Ausgabe wurde nicht verändert.", err=True)
        sys.exit(1)
    _print_problems(result.warnings)
    elapsed = f"{time.perf_counter() - started:.1f}".replace(".", ",")
    pages = count(result.pages, "Seite", "Seiten")
    if result.report is None:
        click.echo(f"Geprüft: {pages}, keine Fehler ({elapsed} s).")
    else:
        # Pages are what visitors see; files are everything written (pages, feeds,
        # images, the search index): two different counts, never one mixed list.
        report = result.report
        files = count(len(report.written) + len(report.unchanged), "Datei", "Dateien")
        click.echo(
            f"Fertig: {pages}; {files} ({_number(len(report.written))} neu oder geändert, "
            f"{_number(len(report.unchanged))} unverändert), "
            f"{count(len(report.removed), 'Datei', 'Dateien')} entfernt ({elapsed} s)."
        )
    click.echo(left_out_line(result.left_out))
    return result


def left_out_line(left_out: LeftOut) -> str:
    """What the build did not publish: "2 Entwürfe und 1 Pressemitteilung mit Sperrfrist
    nicht veröffentlicht." Said every time, so nothing is left out unannounced."""
    parts = []
    if left_out.drafts:
        parts.append(count(left_out.drafts, "Entwurf", "Entwürfe"))
    if left_out.embargoed:
        parts.append(
            count(
                left_out.embargoed,
                "Pressemitteilung mit Sperrfrist",
                "Pressemitteilungen mit Sperrfrist",
            )
        )
    if not parts:
        return "Nichts zurückgehalten: kein Entwurf, keine Sperrfrist."
    return f"{' und '.join(parts)} nicht veröffentlicht."


def _tell_waiting(pid: int | None) -> None:
    other = f"Prozess {pid}" if pid is not None else "ein anderer Prozess"
    click.echo(
        f"Ein anderer Build dieser Website läuft gerade ({other}); "
        "dieser wartet, bis er fertig ist …",
        err=True,
    )


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def count(value: int, singular: str, plural: str) -> str:
    """ "1 Seite", "2 Seiten", "1.024 Seiten": the noun follows the number."""
    return f"{_number(value)} {singular if value == 1 else plural}"


_OPTIONS_METAVAR = "[OPTIONEN]"


class _GermanCommand(click.Command):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", _OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)


class _GermanGroup(click.Group):
    """The command group; click's own texts (help headings, usage errors) in German."""

    command_class = _GermanCommand

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with german_click():
            return super().main(*args, **kwargs)


@click.group(
    cls=_GermanGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    options_metavar=_OPTIONS_METAVAR,
    subcommand_metavar="BEFEHL [ARGUMENTE]...",
)
@click.version_option(
    __version__,
    prog_name="kldigital-site",
    message="%(prog)s, Version %(version)s",
    help="Die Version zeigen und beenden.",
)
@_now_option
def cli() -> None:
    """Statische Website aus Projektsteckbriefen, Pressemitteilungen und Seiten."""


@cli.command("build")
@_site_options
def build_command(**options: Any) -> None:
    """Website erzeugen (nach output/)."""
    _run(options, write=True)


@cli.command("check")
@_site_options
@click.option(
    "--previous-sitemap",
    "previous_sitemap",
    metavar="PFAD-ODER-URL",
    help="Sitemap der bisher veröffentlichten Website (Datei oder https://…/sitemap.xml): "
    "jede Adresse daraus, die es nicht mehr gibt, ist ein Fehler.",
)
def check_command(**options: Any) -> None:
    """Alles prüfen (Inhalte, Verweise, Templates, Links), nichts schreiben."""
    result = _run(options, write=False)
    previous = options.get("previous_sitemap")
    if previous is None or result.site is None:
        return
    # Imported here: urllib, http and ssl cost every build ~10 ms (issue 15).
    from kldigital_site.commands.previous_sitemap import OPTION as PREVIOUS_SITEMAP
    from kldigital_site.commands.previous_sitemap import (
        SitemapProblem,
        lost_urls,
        read_sitemap,
    )

    try:
        lost = lost_urls(read_sitemap(previous), result.site)
    except SitemapProblem as problem:
        lost = [SiteError(PREVIOUS_SITEMAP, 0, str(problem))]
    if lost:
        _print_problems(lost)
        click.echo(f"Abgebrochen: {len(lost)} Fehler. Die Ausgabe wurde nicht verändert.", err=True)
        sys.exit(1)


@cli.command("serve")
@_serve_options
def serve_command(**options: Any) -> None:
    """Vorschau mit automatischem Neuladen (http://127.0.0.1:8000/).

    Zeigt Entwürfe und Beiträge mit Sperrfrist mit einem Hinweis. Schreibt nie
    nach output/. Beenden mit Strg+C.
    """
    from kldigital_site.serve.server import DevServer, ServeOptions  # watchdog only when serving

    content_dir: Path = options["content_dir"]
    if not content_dir.is_dir():
        click.echo(f"Der Inhaltsordner {content_dir} existiert nicht.", err=True)
        sys.exit(1)
    serve_options = ServeOptions(
        content_dir=content_dir,
        templates_dir=options["templates_dir"],
        host=options["host"],
        port=options["port"],
        base_url=options["base_url"],
        strict=options["strict"],
        polling=options["poll"],
        now=_fixed_now(),
        jobs=options["jobs"],
        use_cache=not options["no_cache"],
    )
    try:
        server = DevServer(serve_options, on_build=_print_outcome, on_ready=_print_ready)
    except OSError as exc:
        click.echo(
            f"Die Vorschau kann {options['host']}:{options['port']} nicht öffnen "
            f"({_os_reason(exc)}). Läuft dort schon eine Vorschau? Beenden Sie sie mit "
            "Strg+C, oder starten Sie diese an einem anderen Port:\n"
            '  make serve SITE_ARGS="--port 8001"',
            err=True,
        )
        sys.exit(1)
    server.serve_forever()
    click.echo("Vorschau beendet.")


def _os_reason(exc: OSError) -> str:
    """Why a port cannot be opened, in German; the system's own text is English."""
    reasons = {
        errno.EADDRINUSE: "die Adresse wird schon verwendet",
        errno.EACCES: "keine Berechtigung für diesen Port",
        errno.EADDRNOTAVAIL: "diese Adresse gibt es auf diesem Rechner nicht",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def _print_ready(url: str) -> None:
    click.echo(
        f"Vorschau: {url}\n"
        "Entwürfe und Beiträge mit Sperrfrist sind mit Hinweis sichtbar. "
        "Gespeicherte Änderungen erscheinen von selbst. Beenden mit Strg+C."
    )


def _print_outcome(outcome: BuildOutcome) -> None:
    stamp = time.strftime("%H:%M:%S")
    seconds = f"{outcome.seconds:.1f}".replace(".", ",")
    if outcome.result is None:
        _print_problems(list(outcome.problems))
        click.echo(
            f"[{stamp}] {outcome.reason}: {len(outcome.problems)} Fehler ({seconds} s) – "
            "die Vorschau zeigt weiter den letzten fehlerfreien Stand.",
            err=True,
        )
        return
    result = outcome.result
    _print_problems(result.warnings)
    written = len(result.report.written) if result.report is not None else 0
    click.echo(
        f"[{stamp}] {outcome.reason}: {count(result.pages, 'Seite', 'Seiten')}, "
        f"{_number(len(result.rendered))} neu erzeugt, "
        f"{count(written, 'Datei', 'Dateien')} geschrieben ({seconds} s)."
    )


_content_option = click.option(
    "--content",
    "content_dir",
    type=click.Path(path_type=Path),
    default=Path("content"),
    metavar="ORDNER",
    help="Ordner mit den Inhalten (Standard: content).",
)


@cli.command("new")
@click.argument("kind", type=click.Choice([k.value for k in ScaffoldKind]))
@click.argument("title", metavar="TITEL")
@_content_option
@_now_option
def new_command(kind: str, title: str, content_dir: Path) -> None:
    """Neue Datei anlegen: press (Pressemitteilung), project (Steckbrief), page (Seite).

    Beispiel: kldigital-site new press "Neue Radwege in der Innenstadt"
    """
    try:
        path = create(content_dir, ScaffoldKind(kind), title, _now())
    except ScaffoldError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(path.as_posix())


@cli.command("status")
@_content_option
@_now_option
def status_command(content_dir: Path) -> None:
    """Was ist veröffentlicht, was ist Entwurf, was erscheint wann (Sperrfrist)?"""
    try:
        config = load_config(content_dir, Path("templates"), Path("output"))
    except BuildFailed as failed:
        _print_problems(failed.problems)
        sys.exit(1)
    from kldigital_site.commands.status import collect_status, format_status  # as above

    report = collect_status(config, _now())
    click.echo(format_status(report))
    if report.problems:
        click.echo("", err=True)
        _print_problems(list(report.problems))
        problems = len(report.problems)
        consequence = "Solange er besteht" if problems == 1 else "Solange sie bestehen"
        click.echo(
            f"{problems} Fehler: {consequence}, bricht jeder Build ab.",
            err=True,
        )
        sys.exit(1)


@cli.command("clean")
@_content_option
@click.option(
    "--output",
    "output_dir",
    type=click.Path(path_type=Path),
    default=Path("output"),
    metavar="ORDNER",
    help="Ordner der erzeugten Website (Standard: output).",
)
@_now_option
def clean_command(content_dir: Path, output_dir: Path) -> None:
    """Ausgabe und Zwischenspeicher löschen (nur, was kldigital-site erzeugt hat)."""
    cache = content_dir.resolve().parent / CACHE_DIR_NAME
    existed = cache.is_dir()
    if cache.exists() and not existed:
        click.echo(f"{CACHE_DIR_NAME}: ist eine Datei, kein Ordner von kldigital-site.", err=True)
        sys.exit(1)
    # Not while a build writes: it would publish what is being deleted.
    with site_lock(cache, _tell_waiting):
        if remove_tree(output_dir, cache):
            click.echo(f"Gelöscht: {output_dir}")
        shutil.rmtree(cache)
    if existed:
        click.echo(f"Gelöscht: {cache}")


def main() -> None:
    # Before any thread starts (the search index's, the preview's): heap.py says why.
    from kldigital_site.heap import one_malloc_arena

    one_malloc_arena()
    cli(prog_name="kldigital-site")

"""Command line: ``kldigital-site build | check | clean``.

The only module that prints problems and chooses exit codes: 0 success, 1
content, reference or template errors, 2 wrong usage (click's own code).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kldigital_site import __version__
from kldigital_site.build import BuildResult, build
from kldigital_site.config import SiteConfig, load_config
from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.output import MANIFEST_NAME, read_manifest

CACHE_DIR_NAME = ".kldigital-cache"


def _site_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--content",
            "content_dir",
            type=click.Path(path_type=Path),
            default=Path("content"),
            show_default=True,
            help="Ordner mit den Inhalten.",
        ),
        click.option(
            "--templates",
            "templates_dir",
            type=click.Path(path_type=Path),
            default=Path("templates"),
            show_default=True,
            help="Ordner mit den Templates.",
        ),
        click.option(
            "--output",
            "output_dir",
            type=click.Path(path_type=Path),
            default=Path("output"),
            show_default=True,
            help="Zielordner der erzeugten Website.",
        ),
        click.option(
            "--base-url", help="Adresse der Website (überschreibt base_url in site.yaml)."
        ),
        click.option("--drafts", is_flag=True, help="Entwürfe mit veröffentlichen."),
        click.option(
            "--future", is_flag=True, help="Beiträge mit Datum in der Zukunft mit veröffentlichen."
        ),
        click.option("--strict", is_flag=True, help="Warnungen als Fehler behandeln."),
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            default=None,
            help="Anzahl paralleler Prozesse (Standard: Zahl der CPUs).",
        ),
        click.option("--no-cache", is_flag=True, help="Zwischenspeicher nicht verwenden."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _print_problems(problems: list[SiteError]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


def _load(options: dict[str, Any]) -> SiteConfig:
    return load_config(
        options["content_dir"],
        options["templates_dir"],
        options["output_dir"],
        base_url=options["base_url"],
        drafts=options["drafts"],
        future=options["future"],
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _run(options: dict[str, Any], *, write: bool) -> BuildResult:
    started = time.perf_counter()
    try:
        config = _load(options)
        result = build(config, now=_now(), write=write, strict=options["strict"])
    except BuildFailed as failed:
        _print_problems(failed.problems)
        errors = sum(1 for p in failed.problems if p.is_error)
        click.echo(f"Abgebrochen: {errors} Fehler. Die Ausgabe wurde nicht verändert.", err=True)
        sys.exit(1)
    _print_problems(result.warnings)
    elapsed = f"{time.perf_counter() - started:.1f}".replace(".", ",")
    if result.report is None:
        click.echo(f"Geprüft: {result.pages} Seiten, keine Fehler ({elapsed} s).")
    else:
        report = result.report
        click.echo(
            f"Fertig: {_number(result.pages)} Seiten, {_number(len(report.written))} neu, "
            f"{_number(len(report.unchanged))} unverändert, "
            f"{_number(len(report.removed))} entfernt "
            f"({elapsed} s)."
        )
    return result


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kldigital-site")
def cli() -> None:
    """Statische Website aus Projektsteckbriefen, Pressemitteilungen und Seiten."""


@cli.command("build")
@_site_options
def build_command(**options: Any) -> None:
    """Website erzeugen (nach output/)."""
    _run(options, write=True)


@cli.command("check")
@_site_options
def check_command(**options: Any) -> None:
    """Alles prüfen (Inhalte, Verweise, Templates, Links), nichts schreiben."""
    _run(options, write=False)


@cli.command("clean")
@click.option("--content", "content_dir", type=click.Path(path_type=Path), default=Path("content"))
@click.option("--output", "output_dir", type=click.Path(path_type=Path), default=Path("output"))
def clean_command(content_dir: Path, output_dir: Path) -> None:
    """Ausgabe und Zwischenspeicher löschen (nur, was kldigital-site erzeugt hat)."""
    manifest = read_manifest(output_dir)
    if manifest is not None:
        for rel in manifest:
            (output_dir / rel).unlink(missing_ok=True)
        (output_dir / MANIFEST_NAME).unlink(missing_ok=True)
        for folder in sorted((p for p in output_dir.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(output_dir.iterdir()):
            output_dir.rmdir()
        click.echo(f"Gelöscht: {output_dir}")
    cache = content_dir.resolve().parent / CACHE_DIR_NAME
    if cache.is_dir():
        shutil.rmtree(cache)
        click.echo(f"Gelöscht: {cache}")


def main() -> None:
    cli(prog_name="kldigital-site")

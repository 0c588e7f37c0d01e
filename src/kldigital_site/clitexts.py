"""German for click's own texts: help headings, usage errors, type names.

Input: the English message ids click passes to ``gettext``. Output: their German
text, while ``german_click()`` is active (``cli.py`` wraps every invocation in
it). Click looks its texts up through ``gettext`` at the moment it prints them;
a catalogue would need a compiled ``.mo`` file and the right locale variables,
and editors run the tool in any locale (tests/test_cli.py runs it under ``C``).
So each click module's ``_``/``ngettext`` is pointed at this table for the
duration of the command and restored afterwards. A text missing here stays
English; tests/test_cli.py fails on English in any command's help.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

_TEXTS: dict[str, str] = {
    # help pages
    "Usage:": "Aufruf:",
    "Options": "Optionen",
    "Commands": "Befehle",
    "Positional arguments": "Argumente",
    "Show this message and exit.": "Diese Hilfe zeigen und beenden.",
    "Show the version and exit.": "Die Version zeigen und beenden.",
    "default: {default}": "Standard: {default}",
    "required": "Pflicht",
    "(dynamic)": "(wechselnd)",
    "env var: {var}": "Umgebungsvariable: {var}",
    "deprecated": "veraltet",
    # usage errors
    "Error: {message}": "Fehler: {message}",
    "Try '{command} {option}' for help.": "Hilfe: {command} {option}",
    "Aborted!": "Abgebrochen.",
    "Missing command.": "Der Befehl fehlt (z. B. build, serve, check).",
    "No such command {name!r}.": "Unbekannter Befehl „{name}“.",
    "No such option {name!r}.": "Unbekannte Option „{name}“.",
    "Option {name!r} requires an argument.": "Die Option „{name}“ braucht einen Wert.",
    "Option {name!r} does not take a value.": "Die Option „{name}“ nimmt keinen Wert.",
    "Invalid value for {param_hint}: {message}": "Ungültiger Wert für {param_hint}: {message}",
    "Invalid value: {message}": "Ungültiger Wert: {message}",
    "Missing argument": "Es fehlt das Argument",
    "Missing option": "Es fehlt die Option",
    "Missing parameter": "Es fehlt die Angabe",
    "Missing {param_type}": "Es fehlt: {param_type}",
    "Missing parameter: {param_name}": "Es fehlt die Angabe: {param_name}",
    "argument": "Argument",
    "option": "Option",
    "parameter": "Angabe",
    # values
    # {number_type} is click's English type name ("integer range"): left out.
    "{value!r} is not a valid {number_type}.": "„{value}“ ist keine gültige Zahl.",
    "{value} is not in the range {range}.": "{value} liegt nicht im Bereich {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "„{value}“ ist kein Wahrheitswert. Erlaubt: {states}"
    ),
    "{value!r} does not match the format {format}.": "„{value}“ hat nicht das Format {format}.",
    "{value!r} does not match the formats {formats}.": (
        "„{value}“ hat keines der Formate {formats}."
    ),
    "{name} {filename!r} does not exist.": "{name} „{filename}“ existiert nicht.",
    "{name} {filename!r} is a file.": "{name} „{filename}“ ist eine Datei.",
    "{name} {filename!r} is a directory.": "{name} „{filename}“ ist ein Ordner.",
    "{name} {filename!r} is not readable.": "{name} „{filename}“ ist nicht lesbar.",
    "{name} {filename!r} is not writable.": "{name} „{filename}“ ist nicht beschreibbar.",
    "{name} {filename!r} is not executable.": "{name} „{filename}“ ist nicht ausführbar.",
    "file": "Datei",
    "directory": "Ordner",
    "path": "Pfad",
    "Choose from:\n\t{choices}": "Zur Wahl:\n\t{choices}",
}

_PLURALS: dict[str, tuple[str, str]] = {
    "Did you mean {possibility}?": (
        "Meinten Sie {possibility}?",
        "(Meinten Sie einen davon: {possibilities}?)",
    ),
    "{value!r} is not {choice}.": (
        "„{value}“ ist nicht {choice}.",
        "„{value}“ ist keiner dieser Werte: {choices}.",
    ),
    "Got unexpected extra argument ({args})": (
        "Unerwartetes zusätzliches Argument ({args})",
        "Unerwartete zusätzliche Argumente ({args})",
    ),
    "Option {name!r} requires {nargs} arguments.": (
        "Die Option „{name}“ braucht {nargs} Werte.",
        "Die Option „{name}“ braucht {nargs} Werte.",
    ),
}

# Every click module that imports gettext's functions under these names.
_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.termui",
    "click.types",
    "click.utils",
)


def translate(message: str) -> str:
    """The German text of one of click's messages (unknown ones unchanged)."""
    return _TEXTS.get(message, message)


def translate_plural(singular: str, plural: str, count: int) -> str:
    forms = _PLURALS.get(singular)
    if forms is None:
        return singular if count == 1 else plural
    return forms[0] if count == 1 else forms[1]


@contextlib.contextmanager
def german_click() -> Iterator[None]:
    """Click speaks German inside this block; its own functions come back afterwards."""
    saved: list[tuple[object, str, object]] = []
    for name in _MODULES:
        module = importlib.import_module(name)
        for attribute, replacement in (("_", translate), ("ngettext", translate_plural)):
            if hasattr(module, attribute):
                saved.append((module, attribute, getattr(module, attribute)))
                setattr(module, attribute, replacement)
    try:
        yield
    finally:
        for owner, attribute, original in reversed(saved):
            setattr(owner, attribute, original)

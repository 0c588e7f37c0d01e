"""Front-matter schemas: typed values, defaults, and every problem with its line and a hint."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kldigital_site.content.schema import (
    PAGE_FIELDS,
    PRESS_FIELDS,
    PROJECT_FIELDS,
    Invalid,
    PartialDate,
    absolute_url,
    boolean,
    choice,
    integer,
    media_path,
    partial_date,
    slug,
    text,
    text_list,
    validate_mapping,
)
from kldigital_site.content.yamlpos import Located, load_located

PATH = "content/projekte/x.md"


def node(value: Any) -> Located:
    return Located(value, 3, 3)


def validate(yaml_text: str, fields: Any = PROJECT_FIELDS) -> tuple[dict[str, Any], list[str]]:
    result = validate_mapping(load_located(yaml_text, 2), fields, path=PATH)
    errors = sorted(result.errors, key=lambda e: (e.line, e.message))
    return result.validated.values, [f"{e.line}: {e.message}" for e in errors]


def test_project_with_only_required_fields_gets_the_documented_defaults() -> None:
    values, errors = validate("title: Titel\nsummary: Kurz.\n")
    assert errors == []
    assert values["smart_city"] is False
    assert values["status"] == "laufend"
    assert values["tags"] == ()
    assert values["partners"] == ()
    assert values["weight"] == 0
    assert values["draft"] is False
    assert values["slug"] is None


def test_every_problem_of_a_file_is_reported_at_its_key() -> None:
    _, errors = validate(
        "title: Titel\nsmartcity: true\nstatus: fertig\nweight: erster\nwebsite: www.kl.de\n"
    )
    assert errors == [
        "2: Pflichtfeld „summary“ fehlt.",
        "3: Unbekannter Schlüssel „smartcity“. Meinten Sie „smart_city“?",
        "4: „status“: „fertig“ ist kein erlaubter Wert (erlaubt: geplant, laufend, abgeschlossen)",
        "5: „weight“: „erster“ ist keine ganze Zahl (z. B. 3, ohne Anführungszeichen)",
        "6: „website“: „www.kl.de“ ist keine vollständige Webadresse (http:// oder https://)",
    ]


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("smartcity", "smart_city"),
        ("Title", "title"),
        ("summery", "summary"),
        ("imagealt", "image_alt"),
        ("partner", "partners"),
        ("tag", "tags"),
    ],
)
def test_typos_get_a_hint(key: str, hint: str) -> None:
    _, errors = validate(f"title: T\nsummary: S\n{key}: x\n")
    assert errors == [f"4: Unbekannter Schlüssel „{key}“. Meinten Sie „{hint}“?"]


def test_unknown_key_without_similar_name_lists_the_allowed_keys() -> None:
    _, errors = validate("title: T\nsummary: S\nautorin: Erika\n")
    assert len(errors) == 1
    assert errors[0].startswith("4: Unbekannter Schlüssel „autorin“. Erlaubt sind: ")
    for name in ("title", "summary", "smart_city", "image_alt", "slug"):
        assert name in errors[0]


def test_empty_optional_value_means_the_default() -> None:
    values, errors = validate("title: T\nsummary: S\nstatus:\ntags:\n")
    assert errors == []
    assert values["status"] == "laufend"
    assert values["tags"] == ()


def test_empty_required_value_is_an_error() -> None:
    _, errors = validate("title:\nsummary: S\n")
    assert errors == ["2: „title“ darf nicht leer sein"]


def test_front_matter_that_is_not_a_mapping() -> None:
    _, errors = validate("- title\n- summary\n")
    assert errors == ["2: Hier wird eine Zuordnung (schlüssel: wert) erwartet."]


def test_press_release_fields() -> None:
    values, errors = validate(
        "title: T\ndate: 2021-06-25\nprojects: [a, b]\ncontacts: [presse]\nboilerplate: false\n",
        PRESS_FIELDS,
    )
    assert errors == []
    assert values["date"] == dt.date(2021, 6, 25)
    assert values["projects"] == ("a", "b")
    assert values["contacts"] == ("presse",)
    assert values["boilerplate"] is False
    assert values["location"] is None  # the site default applies later


def test_press_release_date_is_required_and_must_be_a_date() -> None:
    _, errors = validate("title: T\n", PRESS_FIELDS)
    assert errors == ["2: Pflichtfeld „date“ fehlt."]
    _, errors = validate("title: T\ndate: 25.06.2021\n", PRESS_FIELDS)
    assert errors == [
        "3: „date“: „25.06.2021“ ist kein gültiges Datum (JJJJ-MM-TT, optional mit Uhrzeit)"
    ]


def test_page_fields() -> None:
    values, errors = validate("title: T\nmenu: true\nweight: 2\n", PAGE_FIELDS)
    assert errors == []
    assert values["menu"] is True and values["weight"] == 2
    _, errors = validate("title: T\nsmart_city: true\n", PAGE_FIELDS)
    assert errors == ["3: Unbekannter Schlüssel „smart_city“. Erlaubt sind: " + _names(PAGE_FIELDS)]


def _names(fields: Any) -> str:
    return ", ".join(sorted(f.name for f in fields)) + "."


# --- single field types -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ja", "yes-please", 1, 0, None])
def test_boolean_needs_true_or_false(value: Any) -> None:
    with pytest.raises(Invalid, match="true oder false"):
        boolean(node(value))


def test_boolean_names_the_value_as_written() -> None:
    _, errors = validate("title: T\nsummary: S\nsmart_city: Nein\ndraft: 0\n")
    assert errors == [
        "4: „smart_city“: „Nein“ ist kein Wahrheitswert; bitte true oder false schreiben",
        "5: „draft“: „0“ ist kein Wahrheitswert; bitte true oder false schreiben",
    ]


def test_quoted_yes_is_text_not_true() -> None:
    _, errors = validate('title: T\nsummary: S\nsmart_city: "true"\n')
    assert errors == [
        "4: „smart_city“ ist in Anführungszeichen ein Text, kein Wahrheitswert; "
        "bitte ohne Anführungszeichen schreiben: true"
    ]


@pytest.mark.parametrize("value", [True, "3", 2.5])
def test_integer_refuses_other_types(value: Any) -> None:
    with pytest.raises(Invalid, match="ganze Zahl"):
        integer()(node(value))


def test_integer_bounds() -> None:
    assert integer(1, 100)(node(100)) == 100
    with pytest.raises(Invalid, match="mindestens 1"):
        integer(1, 100)(node(0))
    with pytest.raises(Invalid, match="höchstens 100"):
        integer(1, 100)(node(101))


def test_text_accepts_numbers_and_strips() -> None:
    assert text(node("  Titel  ")) == "Titel"
    assert text(node(2024)) == "2024"
    for bad in (["a"], {"a": 1}):
        with pytest.raises(Invalid, match=r"muss ein (einzelner )?Text sein"):
            text(node(bad))
    with pytest.raises(Invalid, match="nicht leer"):
        text(node("   "))


def test_unquoted_numbers_and_dates_are_text_as_written() -> None:
    # YAML would make 211701 (octal) of the phone number, 1.1 of the version.
    values, errors = validate(
        "title: 1.10\nsummary: 2024-05-01\nfunding: 0631365\npartners: [007, 1e3]\n"
    )
    assert errors == []
    assert values["title"] == "1.10"
    assert values["summary"] == "2024-05-01"
    assert values["funding"] == "0631365"
    assert values["partners"] == ("007", "1e3")


@pytest.mark.parametrize("written", ["no", "No", "off", "yes", "on", "true", "False"])
def test_a_truth_value_where_text_belongs_names_the_quoted_form(written: str) -> None:
    _, errors = validate(f"title: T\nsummary: S\nfunding: {written}\n")
    truth = "true" if written.lower() in ("yes", "on", "true") else "false"
    assert errors == [
        f"4: „funding“: „{written}“ liest YAML als Wahrheitswert ({truth}), nicht als Text; "
        f'als Text bitte in Anführungszeichen setzen: "{written}"'
    ]


def test_choice_lists_the_allowed_values() -> None:
    validator = choice("geplant", "laufend", "abgeschlossen")
    assert validator(node("geplant")) == "geplant"
    with pytest.raises(Invalid, match="geplant, laufend, abgeschlossen"):
        validator(node("Geplant"))
    with pytest.raises(Invalid, match="Meinten Sie „laufend“"):
        validator(node("Laufen"))


def test_a_single_text_where_a_list_belongs_shows_the_list_form() -> None:
    _, errors = validate("title: T\nsummary: S\ntags: Mobilität, Verkehr\n")
    assert errors == [
        "4: „tags“ muss eine Liste sein; „Mobilität, Verkehr“ wäre ein einziger Eintrag. "
        "Als Liste: [Mobilität, Verkehr]"
    ]
    _, errors = validate("title: T\ndate: 2021-06-25\ncontacts: presse\n", PRESS_FIELDS)
    assert errors == [
        "4: „contacts“ muss eine Liste sein; „presse“ wäre ein einziger Eintrag. "
        "Als Liste: [presse]"
    ]


def test_a_list_where_one_id_belongs_is_an_error() -> None:
    _, errors = validate("title: T\nsummary: S\ncontact: [presse, buero]\n")
    assert errors == ["4: „contact“ erwartet eine einzige Kennung, keine Liste, z. B. presse"]


def test_text_list_drops_repeats() -> None:
    located = load_located("tags: [Mobilität, Umwelt, Mobilität]\n", 1).entries["tags"]
    assert text_list(located) == ("Mobilität", "Umwelt")
    bad = load_located("tags: [Mobilität, [x]]\n", 1).entries["tags"]
    with pytest.raises(Invalid, match="Eintrag"):
        text_list(bad)
    with pytest.raises(Invalid, match="Liste"):
        text_list(node({"a": 1}))


@pytest.mark.parametrize("value", ["dritte-orte", "projekt-2024", "a"])
def test_plain_slugs(value: str) -> None:
    assert slug(node(value)) == value


@pytest.mark.parametrize(
    "value", ["Dritte Orte", "dritte_orte", "straße", "-start", "ende-", "a--b", "x/y", "../x"]
)
def test_slugs_that_are_not_plain_names(value: str) -> None:
    with pytest.raises(Invalid, match="kein einfacher Name"):
        slug(node(value))


def test_absolute_url() -> None:
    assert absolute_url(node("https://www.kaiserslautern.de/")) == "https://www.kaiserslautern.de/"
    for bad in ("www.kaiserslautern.de", "/projekte/", "ftp://x.de", "https://", "javascript:x"):
        with pytest.raises(Invalid, match="keine vollständige Webadresse"):
            absolute_url(node(bad))


def test_partial_date() -> None:
    assert partial_date(node("2021-06")) == PartialDate(2021, 6)
    assert partial_date(node(dt.date(2021, 6, 25))) == PartialDate(2021, 6, 25)
    for bad in ("2021-13", "Juni 2021", "2021", "2021-6"):
        with pytest.raises(Invalid, match="kein gültiges Datum"):
            partial_date(node(bad))
    with pytest.raises(Invalid, match="ohne Uhrzeit"):
        partial_date(node(dt.datetime(2021, 6, 25, 10)))


def test_media_path_must_stay_inside_medien() -> None:
    assert media_path(node("medien/projekte/x.jpg")) == "medien/projekte/x.jpg"
    for bad in (
        "/medien/x.jpg",
        "projekte/x.jpg",
        "medien/",
        "medien/../site.yaml",
        "medien/./x.jpg",
        "medien\\x.jpg",
        "https://example.org/x.jpg",
    ):
        with pytest.raises(Invalid, match="innerhalb von medien/"):
            media_path(node(bad))


def test_press_time_without_seconds_is_accepted_as_editors_write_it() -> None:
    """YAML needs seconds for a timestamp; "2027-03-01 10:00" must still mean 10:00."""
    import datetime as dt

    from kldigital_site.content.schema import date_or_datetime
    from kldigital_site.content.yamlpos import Located

    assert date_or_datetime(Located("2027-03-01 10:00", 3, 3)) == dt.datetime(2027, 3, 1, 10, 0)
    with_offset = date_or_datetime(Located("2027-03-01T10:00+01:00", 3, 3))
    assert isinstance(with_offset, dt.datetime) and with_offset.utcoffset() == dt.timedelta(hours=1)
    with pytest.raises(Invalid):
        date_or_datetime(Located("2027-03-01 25:00", 3, 3))

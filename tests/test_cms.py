"""The CMS without a browser: the configuration generated from the schema, and
the local backend behind /admin/api/v1 (safety, validation before writing)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kldigital_site.accessibility.fields import page_fields
from kldigital_site.cms.config import (
    ACCESSIBILITY_PAGES,
    KINDS,
    LocalBackend,
    cms_config,
    config_yaml,
)
from kldigital_site.cms.endpoint import API_PATH, AdminEndpoint, AdminResponse
from kldigital_site.content import schema
from kldigital_site.content.schema import Field
from kldigital_site.errors import BuildFailed
from tests.conftest import TEMPLATES, build_site_at, copy_fixture_site

ORIGIN = "http://127.0.0.1:8123"
HOST = "127.0.0.1:8123"
API = ORIGIN + API_PATH


def _collections(content: Path) -> dict[str, dict[str, Any]]:
    config = cms_config(content, LocalBackend(API))
    return {c["name"]: c for c in config["collections"]}


# --- the configuration -----------------------------------------------------------


def test_every_field_of_every_kind_with_label_hint_and_required_flag(minimal_site: Path) -> None:
    collections = _collections(minimal_site / "content")
    for kind in KINDS:
        collection = collections[kind.kind.value]
        assert collection["folder"] == f"content/{kind.kind.value}"
        fields = {f["name"]: f for f in collection["fields"]}
        specs: tuple[Field, ...] = getattr(schema, kind.fields_name)
        # One form field per front matter key, in the schema's order, then the body.
        assert list(fields) == [*(s.name for s in specs), "body"]
        assert fields["body"]["widget"] == "markdown"
        for spec in specs:
            field = fields[spec.name]
            assert field["label"] == spec.label
            assert field.get("required", True) is spec.required, spec.name
            if spec.doc and spec.doc != spec.label:
                assert field["hint"] == spec.doc


def test_widgets_follow_the_field_types(minimal_site: Path) -> None:
    collections = _collections(minimal_site / "content")
    press = {f["name"]: f for f in collections["presse"]["fields"]}
    project = {f["name"]: f for f in collections["projekte"]["fields"]}
    # The date of the release, not of the day it is written (Decap's {{year}} …).
    assert collections["presse"]["slug"] == "{{fields.date | date('YYYY-MM-DD')}}-{{slug}}"
    assert collections["projekte"]["slug"] == "{{slug}}"
    assert project["status"] == {
        "name": "status",
        "label": "Status",
        "widget": "select",
        "options": ["geplant", "laufend", "abgeschlossen"],
        "required": False,
        "hint": "Stand des Projekts",
        "default": "laufend",
    }
    assert project["smart_city"]["widget"] == "boolean"
    assert project["weight"]["widget"] == "number"
    assert project["tags"]["widget"] == "list"
    assert project["partners"]["widget"] == "list"
    assert project["image"]["widget"] == "image"
    assert press["date"]["widget"] == "datetime"
    assert press["title"]["widget"] == "string" and "required" not in press["title"]
    # Contacts and boilerplates: the ids of the data files, with the names.
    assert press["contacts"]["widget"] == "select" and press["contacts"]["multiple"] is True
    assert press["contacts"]["options"] == [
        {"label": "Erika Mustermann (presse)", "value": "presse"}
    ]
    assert project["contact"]["options"] == press["contacts"]["options"]
    assert press["boilerplate"]["widget"] == "select"
    assert press["projects"]["widget"] == "relation"
    assert press["projects"]["collection"] == "projekte"


def test_a_new_schema_field_appears_without_touching_the_cms(
    minimal_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = (
        Field("embargo_note", schema.text, label="Sperrvermerk", doc="Hinweis an Redaktionen"),
        Field("audience", schema.choice("Presse", "Fachpresse"), required=True, label="Zielgruppe"),
    )
    monkeypatch.setattr(schema, "PRESS_FIELDS", (*schema.PRESS_FIELDS, *added))
    fields = {f["name"]: f for f in _collections(minimal_site / "content")["presse"]["fields"]}
    assert fields["embargo_note"] == {
        "name": "embargo_note",
        "label": "Sperrvermerk",
        "widget": "string",
        "required": False,
        "hint": "Hinweis an Redaktionen",
    }
    assert fields["audience"]["widget"] == "select"
    assert fields["audience"]["options"] == ["Presse", "Fachpresse"]
    assert "required" not in fields["audience"]


def test_the_accessibility_pages_have_their_own_fields(minimal_site: Path) -> None:
    files = {
        f["file"]: f for f in _collections(minimal_site / "content")["barrierefreiheit"]["files"]
    }
    for path, _label in ACCESSIBILITY_PAGES:
        fields = {f["name"]: f for f in files[f"content/{path}"]["fields"]}
        assert list(fields) == [*(s.name for s in page_fields(path)), "body"]
    statement = {f["name"]: f for f in files["content/seiten/barrierefreiheit.md"]["fields"]}
    assert statement["conformance"]["widget"] == "select"
    assert statement["conformance"]["options"] == ["vollständig", "teilweise", "nicht"]
    assert statement["known_issues"]["widget"] == "list"
    assert [f["name"] for f in statement["known_issues"]["fields"]] == [
        "what",
        "why",
        "alternative",
    ]
    videos = {f["name"]: f for f in files["content/seiten/gebaerdensprache.md"]["fields"]}
    assert videos["videos"]["widget"] == "list"


def test_a_collection_per_data_file_with_an_entry_per_id(minimal_site: Path) -> None:
    collections = _collections(minimal_site / "content")
    files = {name: collections[name]["files"][0] for name in ("kontakte", "presseabbinder")}
    assert files["kontakte"]["file"] == "content/daten/kontakte.yaml"
    assert [f["name"] for f in files["kontakte"]["fields"]] == ["presse"]
    contact = {f["name"]: f for f in files["kontakte"]["fields"][0]["fields"]}
    assert list(contact) == [f.name for f in schema.CONTACT_FIELDS]
    assert files["presseabbinder"]["file"] == "content/daten/presseabbinder.yaml"


def test_config_yml_is_deterministic_and_names_the_local_backend(minimal_site: Path) -> None:
    first = config_yaml(cms_config(minimal_site / "content", LocalBackend(API)))
    second = config_yaml(cms_config(minimal_site / "content", LocalBackend(API)))
    assert first == second
    loaded = yaml.safe_load(first)
    assert loaded["local_backend"] == {"url": API}
    assert loaded["media_folder"] == "content/medien"
    assert loaded["public_folder"] == "medien"


# --- the local backend -----------------------------------------------------------


@pytest.fixture
def admin(minimal_site: Path) -> AdminEndpoint:
    return AdminEndpoint(minimal_site / "content", TEMPLATES, origin=ORIGIN, hosts={HOST})


def _post(
    admin: AdminEndpoint,
    payload: Mapping[str, Any],
    *,
    origin: str | None = ORIGIN,
    host: str = HOST,
    client: str = "127.0.0.1",
) -> AdminResponse:
    headers = {"host": host, "content-type": "application/json"}
    if origin is not None:
        headers["origin"] = origin

    def header(name: str) -> str | None:
        return headers.get(name.lower())

    return admin.respond("POST", API_PATH, header, json.dumps(payload).encode(), client)


def _answer(response: AdminResponse) -> Any:
    return json.loads(response.body)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".kldigital-cache" not in p.parts
    }


RELEASE = "content/presse/2024-06-01-neue-mitteilung.md"


def _persist(path: str, raw: str) -> dict[str, Any]:
    return {
        "action": "persistEntry",
        "params": {
            "entry": {"slug": "neue-mitteilung", "path": path, "raw": raw},
            "assets": [],
            "options": {"commitMessage": "Neu", "useWorkflow": False, "status": ""},
        },
    }


def test_protocol_answers_as_decap_server(admin: AdminEndpoint, minimal_site: Path) -> None:
    info = _answer(_post(admin, {"action": "info", "params": {"branch": "main"}}))
    assert info == {"repo": "site", "publish_modes": ["simple"], "type": "local_fs"}
    listed = _answer(
        _post(
            admin,
            {
                "action": "entriesByFolder",
                "params": {"folder": "content/presse", "extension": "md", "depth": 1},
            },
        )
    )
    assert [e["file"]["path"] for e in listed] == ["content/presse/2024-05-02-erste-mitteilung.md"]
    assert listed[0]["data"].startswith("---\ntitle: Erste Mitteilung")
    assert len(listed[0]["file"]["id"]) == 64
    missing = _answer(
        _post(admin, {"action": "getEntry", "params": {"path": "content/presse/fehlt.md"}})
    )
    assert missing == {"data": None, "file": {"path": "content/presse/fehlt.md", "id": None}}
    unknown = _post(admin, {"action": "frobnicate", "params": {}})
    assert unknown.status == 422
    assert _answer(unknown) == {"error": "Unknown action frobnicate"}


def test_a_valid_release_is_written(admin: AdminEndpoint, minimal_site: Path) -> None:
    raw = "---\ntitle: Neue Mitteilung\ndate: 2024-06-01\ncontacts: [presse]\n---\nText.\n"
    response = _post(admin, _persist(RELEASE, raw))
    assert response.status == 200, response.body
    assert _answer(response) == {"message": "entry persisted"}
    assert (minimal_site / RELEASE).read_text(encoding="utf-8") == raw
    # Nothing but the file: no temporary files left beside it.
    assert sorted(p.name for p in (minimal_site / "content/presse").iterdir()) == [
        "2024-05-02-erste-mitteilung.md",
        "2024-06-01-neue-mitteilung.md",
    ]


def _build_message(tmp_path: Path, path: str, raw: str) -> str:
    """What `check` says about the site with this file."""
    root = copy_fixture_site("minimal", tmp_path / "elsewhere")
    (root / path).write_text(raw, encoding="utf-8")
    with pytest.raises(BuildFailed) as failed:
        build_site_at(root, write=False, drafts=True, future=True)
    return "\n".join(str(p) for p in failed.value.problems)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
    admin: AdminEndpoint, minimal_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "content/presse/2024-05-02-erste-mitteilung.md"
    before = _snapshot(minimal_site)

    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "Kein Platz auf dem Gerät")

    monkeypatch.setattr("kldigital_site.cms.backend.os.replace", disk_full)
    raw = "---\ntitle: Geänderte Mitteilung\ndate: 2024-05-02\n---\nNeuer Text.\n"
    response = _post(admin, _persist(path, raw))
    assert response.status == 500
    assert _answer(response) == {"error": "Nicht gespeichert: Kein Platz auf dem Gerät"}
    assert _snapshot(minimal_site) == before  # the old text, and nothing beside it


def test_a_save_with_an_unknown_contact_is_refused_with_the_builds_message(
    admin: AdminEndpoint, minimal_site: Path, tmp_path: Path
) -> None:
    before = _snapshot(minimal_site)
    raw = "---\ntitle: Neue Mitteilung\ndate: 2024-06-01\ncontacts: [niemand]\n---\nText.\n"
    response = _post(admin, _persist(RELEASE, raw))
    assert response.status == 422
    message = _build_message(tmp_path, RELEASE, raw)
    assert message.startswith("content/presse/2024-06-01-neue-mitteilung.md:4: ")
    assert "„niemand“" in message
    assert _answer(response) == {"error": "Nicht gespeichert: " + message}
    assert _snapshot(minimal_site) == before


def test_a_save_with_an_end_before_the_start_is_refused(
    admin: AdminEndpoint, minimal_site: Path, tmp_path: Path
) -> None:
    path = "content/projekte/beispielprojekt.md"
    before = _snapshot(minimal_site)
    raw = "---\ntitle: Beispiel\nsummary: Kurz.\nstart: 2024-05\nend: 2023-01\n---\nText.\n"
    response = _post(admin, _persist(path, raw))
    assert response.status == 422
    message = _build_message(tmp_path, path, raw)
    assert message.startswith("content/projekte/beispielprojekt.md:5: ")
    assert _answer(response) == {"error": "Nicht gespeichert: " + message}
    assert _snapshot(minimal_site) == before


def test_deleting_a_file_others_refer_to_is_refused(
    admin: AdminEndpoint, minimal_site: Path
) -> None:
    raw = "---\ntitle: Neu\ndate: 2024-06-01\nprojects: [beispielprojekt]\n---\nText.\n"
    assert _post(admin, _persist(RELEASE, raw)).status == 200
    before = _snapshot(minimal_site)
    response = _post(
        admin,
        {
            "action": "deleteFile",
            "params": {"path": "content/projekte/beispielprojekt.md", "options": {}},
        },
    )
    assert response.status == 422
    assert "beispielprojekt" in _answer(response)["error"]
    assert _snapshot(minimal_site) == before


@pytest.mark.parametrize(
    "path",
    [
        "content/../evil.md",
        "../evil.md",
        "/tmp/evil.md",
        "content/presse/../../evil.md",
        "templates/base.html",
        "content\\presse\\x.md",
        "content/link/evil.md",
    ],
)
def test_paths_outside_content_are_refused(
    admin: AdminEndpoint, minimal_site: Path, path: str
) -> None:
    (minimal_site / "content/link").symlink_to(minimal_site / "templates-elsewhere")
    (minimal_site / "templates-elsewhere").mkdir()
    before = _snapshot(minimal_site)
    raw = "---\ntitle: X\ndate: 2024-06-01\n---\nText.\n"
    for payload in (
        _persist(path, raw),
        {"action": "getEntry", "params": {"path": path}},
        {"action": "deleteFile", "params": {"path": path}},
        {
            "action": "persistMedia",
            "params": {"asset": {"path": path, "content": "eA==", "encoding": "base64"}},
        },
    ):
        response = _post(admin, payload)
        assert response.status == 403, (payload, response.body)
        assert "content/" in _answer(response)["error"]
    assert _snapshot(minimal_site) == before


@pytest.mark.parametrize(
    ("origin", "host", "client"),
    [
        ("http://evil.example", HOST, "127.0.0.1"),  # another site in the same browser
        (None, HOST, "127.0.0.1"),  # no Origin at all
        ("http://127.0.0.1:9999", HOST, "127.0.0.1"),  # another local port
        ("http://rebind.example:8123", "rebind.example:8123", "127.0.0.1"),  # DNS rebinding
        (ORIGIN, HOST, "192.168.1.20"),  # not loopback
    ],
)
def test_foreign_requests_are_refused_and_change_nothing(
    admin: AdminEndpoint, minimal_site: Path, origin: str | None, host: str, client: str
) -> None:
    before = _snapshot(minimal_site)
    raw = "---\ntitle: Neue Mitteilung\ndate: 2024-06-01\n---\nText.\n"
    response = _post(admin, _persist(RELEASE, raw), origin=origin, host=host, client=client)
    assert response.status == 403
    assert _snapshot(minimal_site) == before
    # Reading is refused the same way: entries are not for other sites either.
    listed = _post(
        admin,
        {"action": "getEntry", "params": {"path": "content/presse/2024-05-02-erste-mitteilung.md"}},
        origin=origin,
        host=host,
        client=client,
    )
    assert listed.status == 403


def test_admin_page_has_its_own_csp_and_explains_a_missing_bundle(
    admin: AdminEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    def header(name: str) -> str | None:
        return {"host": HOST}.get(name.lower())

    page = admin.respond("GET", "/admin/", header, b"", "127.0.0.1")
    assert page.status == 200
    csp = dict(page.headers)["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self';" in csp
    assert "http" not in csp  # no other host, no CDN
    monkeypatch.setattr("kldigital_site.cms.endpoint.bundle_dir", lambda root: None)
    missing = admin.respond("GET", "/admin/", header, b"", "127.0.0.1")
    assert missing.status == 200
    assert "make cms" in missing.body.decode()
    assert "Die Redaktionsoberfläche ist noch nicht installiert" in missing.body.decode()
    config = admin.respond("GET", "/admin/config.yml", header, b"", "127.0.0.1")
    assert yaml.safe_load(config.body)["local_backend"]["url"] == API


# --- /admin/ in the built site (cms: in site.yaml) -----------------------------------

CMS_BLOCK = """
cms:
  backend: gitlab
  repo: stadt-kl/website
  base_url: https://git.example.org
  app_id: abc123
"""


def _with_cms(root: Path, block: str = CMS_BLOCK) -> Path:
    settings = root / "content/site.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + block, encoding="utf-8")
    return root


def test_without_a_cms_block_nothing_of_the_cms_is_built(minimal_site: Path) -> None:
    build_site_at(minimal_site)
    output = minimal_site / "output"
    assert not (output / "admin").exists()
    assert not [p for p in output.rglob("*") if "decap" in p.name.lower()]


def test_a_cms_block_builds_admin_with_the_git_backend(minimal_site: Path) -> None:
    build_site_at(_with_cms(minimal_site))
    admin = minimal_site / "output/admin"
    config = yaml.safe_load((admin / "config.yml").read_text(encoding="utf-8"))
    assert config["backend"] == {
        "name": "gitlab",
        "repo": "stadt-kl/website",
        "branch": "main",
        "base_url": "https://git.example.org",
        "api_root": "https://git.example.org/api/v4",
        "app_id": "abc123",
        "auth_type": "pkce",
    }
    assert "local_backend" not in config
    assert [c["name"] for c in config["collections"]] == [
        "presse",
        "projekte",
        "seiten",
        "barrierefreiheit",
        "kontakte",
        "presseabbinder",
    ]
    page = (admin / "index.html").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    # The Git host and nothing else: no CDN, no font service.
    hosts = set(re.findall(r"https?://[^\s;']+", csp[1]))
    assert hosts == {"https://git.example.org"}
    assert '<script src="decap-cms.js"></script>' in page
    assert (admin / "decap-cms.js").is_file()
    assert "MIT License" in (admin / "LICENSE.txt").read_text(encoding="utf-8")
    assert (admin / "decap-cms.js.LICENSE.txt").is_file()
    # The public pages are exactly as without the CMS, their CSP included.
    without = copy_fixture_site("minimal", minimal_site.parent / "without")
    build_site_at(without)
    for page_path in ("index.html", "presse/erste-mitteilung/index.html", "404.html"):
        assert (minimal_site / "output" / page_path).read_bytes() == (
            without / "output" / page_path
        ).read_bytes()


def test_a_cms_block_without_the_bundle_is_an_error(
    minimal_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kldigital_site.cms.page.bundle_dir", lambda root: None)
    _with_cms(minimal_site)
    line = minimal_site.joinpath("content/site.yaml").read_text().splitlines().index("cms:") + 1
    with pytest.raises(BuildFailed) as failed:
        build_site_at(minimal_site)
    assert [str(p) for p in failed.value.problems] == [
        f"content/site.yaml:{line}: „cms“: Die Redaktionsoberfläche (Decap CMS) ist nicht "
        "installiert: bitte „make cms“ ausführen."
    ]
    assert not (minimal_site / "output").exists()


def test_an_unknown_git_backend_is_an_error(minimal_site: Path) -> None:
    _with_cms(minimal_site, "\ncms:\n  backend: svn\n  repo: a/b\n")
    line = (
        minimal_site.joinpath("content/site.yaml").read_text().splitlines().index("  backend: svn")
    )
    with pytest.raises(BuildFailed) as failed:
        build_site_at(minimal_site)
    assert [str(p) for p in failed.value.problems] == [
        f"content/site.yaml:{line + 1}: „backend“: „svn“ ist kein erlaubter Wert "
        "(erlaubt: gitlab, github, gitea)"
    ]

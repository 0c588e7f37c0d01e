"""A template change re-renders exactly the pages that load the changed files.

render/pages.py ``_template_change``: when only template files (and bodies) changed
since the last build, a page whose recorded templates are all as they were keeps its
file without its view being made. Each test edits templates, builds with the cache,
and compares the output with a clean build of the same input: a skip that is too
eager leaves a stale page behind and fails the comparison.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kldigital_site.build import BuildResult
from kldigital_site.errors import BuildFailed
from tests.test_incremental import RELEASE, RELEASE_PAGE, Site, same_as_clean, tree


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path)
    s.build()
    return s


def _showing(files: dict[str, bytes], marker: str) -> set[str]:
    return {path for path, data in files.items() if marker.encode() in data}


def test_base_template_change_leaves_the_newsroom_files_unexamined(
    site: Site, tmp_path: Path
) -> None:
    site.edit("base.html", lambda t: t.replace("</footer>", "<p>Fußzeile neu</p>\n</footer>", 1))
    result = site.build()
    built = same_as_clean(site, tmp_path, "base")
    showing = _showing(built, "Fußzeile neu")
    assert len(showing) > 20 and showing <= result.rendered
    # The release's text, e-mail and the vCards load no base.html: not even their views.
    newsroom = {p for p in built if p.endswith(("pressemitteilung.txt", ".eml", ".vcf"))}
    assert newsroom and newsroom.isdisjoint(result.examined)
    assert result.search_indexed == ()  # no page's text changed


def test_the_email_template_renders_only_the_emails(site: Site, tmp_path: Path) -> None:
    site.edit("newsroom/email.html", lambda t: t.replace("</body>", "<p>Mail neu</p>\n</body>", 1))
    result = site.build()
    built = same_as_clean(site, tmp_path, "email")
    emails = {p for p in built if p.endswith(".eml")}
    assert emails and result.rendered == emails
    assert not any(p.endswith(".html") for p in result.examined)


def test_a_template_imported_by_an_imported_one_is_followed(site: Site, tmp_path: Path) -> None:
    # partials/picture.html is imported by partials/cards.html, which the lists import:
    # Jinja runs cards.html once per process, so only the first list loads picture.html.
    site.edit(
        "partials/picture.html",
        lambda t: t.replace('alt="{{ img.alt }}"', 'alt="{{ img.alt }}" data-neu=""'),
    )
    result = site.build()
    built = same_as_clean(site, tmp_path, "picture")
    showing = _showing(built, "data-neu")
    assert "index.html" in showing and "projekte/index.html" in showing
    assert showing <= result.rendered


def test_a_macro_imported_by_some_pages_renders_those(site: Site, tmp_path: Path) -> None:
    site.edit("partials/contact.html", lambda t: t.replace("{{ c.name }}", "{{ c.name }} (neu)", 1))
    result = site.build()
    built = same_as_clean(site, tmp_path, "contact")
    showing = _showing(built, "(neu)")
    assert RELEASE_PAGE in showing and showing <= result.rendered
    assert "index.html" not in result.examined  # the home page imports no contact block


def test_a_template_newly_included_and_then_changed(site: Site, tmp_path: Path) -> None:
    (site.templates / "partials" / "hinweis.html").write_text("<p>Hinweis eins</p>\n", "utf-8")
    site.edit(
        "base.html",
        lambda t: t.replace("</footer>", '{% include "partials/hinweis.html" %}\n</footer>', 1),
    )
    site.build()
    first = _showing(same_as_clean(site, tmp_path, "included"), "Hinweis eins")
    assert len(first) > 20
    # Now only the new file changes: every page that includes it must follow.
    site.edit("partials/hinweis.html", lambda t: t.replace("eins", "zwei"))
    result = site.build()
    second = _showing(same_as_clean(site, tmp_path, "changed"), "Hinweis zwei")
    assert second == first and second <= result.rendered


def test_a_template_no_longer_included_no_longer_renders_its_pages(
    site: Site, tmp_path: Path
) -> None:
    (site.templates / "partials" / "hinweis.html").write_text("<p>Hinweis</p>\n", "utf-8")
    include = '{% include "partials/hinweis.html" %}\n</footer>'
    site.edit("base.html", lambda t: t.replace("</footer>", include, 1))
    site.build()
    site.edit("base.html", lambda t: t.replace(include, "</footer>", 1))
    site.build()
    site.edit("partials/hinweis.html", lambda t: t.replace("Hinweis", "Anders"))
    result = site.build()
    same_as_clean(site, tmp_path, "gone")
    assert not any(p.endswith(".html") for p in result.examined)


def test_a_new_template_file_under_a_name_tried_before(site: Site, tmp_path: Path) -> None:
    include = '{% include "partials/banner.html" ignore missing %}\n</footer>'
    site.edit("base.html", lambda t: t.replace("</footer>", include, 1))
    site.build()
    (site.templates / "partials" / "banner.html").write_text("<p>Banner neu</p>\n", "utf-8")
    result = site.build()
    showing = _showing(same_as_clean(site, tmp_path, "banner"), "Banner neu")
    assert len(showing) > 20 and showing <= result.rendered


def test_a_deleted_template_is_a_clear_error_and_the_output_stays(site: Site) -> None:
    before = tree(site.output)
    (site.templates / "partials" / "contact.html").unlink()
    with pytest.raises(BuildFailed) as failed:
        site.build()
    messages = {f"{e.path}: {e.message}" for e in failed.value.problems}
    assert "templates/press_release.html: Template „partials/contact.html“ nicht gefunden." in (
        messages
    ), messages
    assert tree(site.output) == before


def test_a_template_and_a_body_changed_together(site: Site, tmp_path: Path) -> None:
    site.edit("partials/contact.html", lambda t: t.replace("{{ c.name }}", "{{ c.name }} (neu)", 1))
    site.edit(RELEASE, lambda t: t + "\nEin neuer Absatz am Ende.\n")
    result: BuildResult = site.build()
    built = same_as_clean(site, tmp_path, "both")
    assert RELEASE_PAGE in result.rendered and b"Ein neuer Absatz" in built[RELEASE_PAGE]
    assert "index.html" not in result.examined


def test_a_comment_in_base_renders_every_page_and_writes_none(site: Site, tmp_path: Path) -> None:
    # Minifying drops the comment: each page renders again to the bytes published, which
    # stay as they are (not sent back from the worker, not written, not compressed again).
    before = {p: p.stat().st_mtime_ns for p in site.output.rglob("*") if p.is_file()}
    site.edit("base.html", lambda t: t.replace("</body>", "<!-- neu -->\n</body>", 1))
    result = site.build()
    assert RELEASE_PAGE in result.rendered and "index.html" in result.rendered
    assert result.report is not None and result.report.written == ()
    same_as_clean(site, tmp_path, "comment")
    after = {p: p.stat().st_mtime_ns for p in site.output.rglob("*") if p.is_file()}
    assert after == before
    # The next change that does show is written.
    site.edit("base.html", lambda t: t.replace("<!-- neu -->", "<p>Neu</p>", 1))
    result = site.build()
    assert result.report is not None and RELEASE_PAGE in result.report.written
    assert b"<p>Neu</p>" in same_as_clean(site, tmp_path, "shown")[RELEASE_PAGE]


def test_a_template_change_after_a_body_edit(site: Site, tmp_path: Path) -> None:
    # The body edit keeps the last build's model, and with it what the template change
    # after it compares with.
    site.edit(RELEASE, lambda t: t + "\nEin neuer Absatz am Ende.\n")
    site.build()
    site.edit("base.html", lambda t: t.replace("</footer>", "<p>Fußzeile neu</p>\n</footer>", 1))
    result = site.build()
    built = same_as_clean(site, tmp_path, "after-body")
    assert _showing(built, "Fußzeile neu") <= result.rendered
    assert not any(p.endswith((".eml", ".vcf")) for p in result.examined)


def _retitle(site: Site) -> None:
    site.edit(
        RELEASE, lambda t: t.replace("title: Digitale Sprechstunde", "title: Neue Sprechstunde")
    )


def test_a_title_change_after_a_template_change_makes_only_the_views_that_show_it(
    site: Site, tmp_path: Path
) -> None:
    # The template change takes the last build's structure (build.py ``_render_pages``),
    # and the title change after it compares its frame with what that build stored.
    site.edit("base.html", lambda t: t.replace("</footer>", "<p>Fußzeile neu</p>\n</footer>", 1))
    site.build()
    _retitle(site)
    result = site.build()
    same_as_clean(site, tmp_path, "title")
    examined = {p for p in result.examined if p.endswith(".html")}
    assert RELEASE_PAGE in examined and "404.html" not in examined
    assert 0 < len(examined) < 15


def test_a_topic_added_with_a_template_change_and_taken_away_again(
    site: Site, tmp_path: Path
) -> None:
    # The template change comes with a new topic: the structure is worked out anew, not
    # taken from the last build. Had it been taken, the next build, which takes the topic
    # away again, would find the stored frame its own and leave the topic list stale.
    site.edit("base.html", lambda t: t.replace("</footer>", "<p>Fußzeile neu</p>\n</footer>", 1))
    site.edit(
        RELEASE,
        lambda t: t.replace("tags: [Bürgerbeteiligung]", "tags: [Bürgerbeteiligung, Neuland]"),
    )
    site.build()
    assert b"Neuland" in same_as_clean(site, tmp_path, "added")["themen/index.html"]
    site.edit(
        RELEASE,
        lambda t: t.replace("tags: [Bürgerbeteiligung, Neuland]", "tags: [Bürgerbeteiligung]"),
    )
    site.build()
    assert b"Neuland" not in same_as_clean(site, tmp_path, "removed")["themen/index.html"]

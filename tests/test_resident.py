"""Issue 15: the preview's resident rebuild (``resident.Resident``).

The preview keeps the cache's rows, the writer's knowledge of its folder, the
sources, the model, the bodies' summaries and the compiled templates in memory
between builds. These tests count the work an edit costs there — folders walked,
files parsed, documents decoded from the cache, files verified on disk, models
made, pages rendered — and compare every resident build with a clean one, byte
for byte, also when the build is told which files changed (as the watcher does).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from kldigital_site import build as build_module
from kldigital_site import cache as cache_module
from kldigital_site import output as output_module
from kldigital_site import resident_build as resident_build_module
from kldigital_site.build import BuildResult, build
from kldigital_site.config import SiteConfig, load_config
from kldigital_site.content import parse as parse_module
from kldigital_site.errors import BuildFailed
from kldigital_site.render import templates as templates_module
from kldigital_site.resident import Resident
from kldigital_site.resident_build import prepare, prepare_saves, stage_published
from kldigital_site.serve.origin import PREVIEW_ORIGIN
from tests.conftest import NOW
from tests.test_incremental import RELEASE, RELEASE_PAGE, Site, _edit_kinds, _pages, tree

RELEASE_KEY = "presse/2025-08-26-digitale-sprechstunde.md"


class PreviewSite(Site):
    """The full fixture built as ``serve`` builds it: drafts and embargoes shown, the
    preview's origin, one ``Resident`` for every build of the session."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.resident = Resident()

    def build(
        self,
        *,
        use_cache: bool = True,
        output: Path | None = None,
        jobs: int = 1,
        search_index: bool = True,
        changed: tuple[Path, ...] | None = None,
    ) -> BuildResult:
        return build(
            self.config(output),
            now=NOW,
            jobs=jobs,
            use_cache=use_cache,
            search_index=search_index,
            resident=self.resident if use_cache and output is None else None,
            changed=changed,
        )

    def config(self, output: Path | None = None) -> SiteConfig:
        return load_config(
            self.root / "content",
            self.templates,
            output or self.output,
            base_url=PREVIEW_ORIGIN + "/",
            preview=True,
        )

    def files(self) -> dict[Path, bytes]:
        """Every file of content/ and templates/, as a watcher would see them."""
        folders = (self.root / "content", self.templates)
        return {p.resolve(): p.read_bytes() for f in folders for p in f.rglob("*") if p.is_file()}

    def edit_reported(self, rel: str, change: Any) -> tuple[Path, ...]:
        """``edit``, and the paths a watcher reports for it."""
        before = self.files()
        self.edit(rel, change)
        return changed_paths(before, self.files())


def changed_paths(before: dict[Path, bytes], after: dict[Path, bytes]) -> tuple[Path, ...]:
    """What the watcher reports: files modified, added and deleted."""
    return tuple(sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p)))


@pytest.fixture
def preview(tmp_path: Path) -> PreviewSite:
    site = PreviewSite(tmp_path)
    first = site.build()
    assert first.report is not None and first.report.written
    return site


class Counts:
    """Calls of the Markdown parser, the cache's document decoder and the writer's
    verification (files checked on disk)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed: list[str] = []
        self.decoded = 0
        self.verified = 0
        parse_source = parse_module.parse_source
        decode_document = cache_module.decode_document
        untrusted = output_module._untrusted

        def counting_parse(source: Any, raw: bytes) -> Any:
            # Data files (daten/*.yaml: a handful) are parsed on every build, as before.
            if source.rel_path.endswith(".md"):
                self.parsed.append(source.rel_path)
            return parse_source(source, raw)

        def counting_decode(payload: str) -> Any:
            self.decoded += 1
            return decode_document(payload)

        def counting_untrusted(folder: Path, manifest: Any, *vouched: Any) -> Any:
            self.verified += len(manifest.files)
            return untrusted(folder, manifest, *vouched)

        monkeypatch.setattr("kldigital_site.build.parse_source", counting_parse)
        monkeypatch.setattr("kldigital_site.resident_build.parse_source", counting_parse)
        monkeypatch.setattr("kldigital_site.cache.decode_document", counting_decode)
        monkeypatch.setattr("kldigital_site.output._untrusted", counting_untrusted)

    def reset(self) -> None:
        self.parsed, self.decoded, self.verified = [], 0, 0


def test_a_body_edit_parses_one_file_and_renders_only_the_pages_showing_it(
    preview: PreviewSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    preview.build()  # the first build's cache rows are now in memory
    counts = Counts(monkeypatch)
    preview.edit(RELEASE, lambda text: text + "\nEin neuer letzter Absatz.\n")
    result = preview.build(search_index=False)
    assert counts.parsed == [RELEASE]
    assert counts.decoded == 0, "no document decoded from the cache: they are in memory"
    assert counts.verified == 0, "the preview's folder is as the last commit left it"
    newsroom = preview.newsroom_files_showing(result, RELEASE_KEY)
    assert result.rendered == {RELEASE_PAGE, "presse/feed.xml"} | newsroom
    assert _pages(result.examined) == {RELEASE_PAGE}

    # A new first paragraph is the summary on every card that shows the release.
    counts.reset()
    preview.edit(RELEASE, lambda t: t.replace("\n---\n", "\n---\nEin neuer Einstieg.\n\n", 1))
    result = preview.build(search_index=False)
    assert counts.parsed == [RELEASE] and counts.decoded == 0
    showing = preview.pages_showing(result, RELEASE_KEY)
    assert _pages(result.examined) == showing
    assert _pages(result.rendered) == showing


class Stages:
    """Calls of discovery, of the model and of the Jinja environment's making."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        # The Jinja environment's module is imported only by builds that render (build.py).
        for module, name in (
            (build_module, "discover"),
            (build_module, "build_site"),
            (templates_module, "make_environment"),
        ):
            real = getattr(module, name)
            monkeypatch.setattr(module, name, self._counting(name, real))

    def _counting(self, name: str, real: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return real(*args, **kwargs)

        return counted


def test_a_reported_body_edit_keeps_the_sources_the_model_and_the_templates(
    preview: PreviewSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The watcher names the file saved: no walk of content/, no new model, no template
    compiled again, one body rendered; and the site is the one a clean build makes."""
    preview.build()
    counts, stages = Counts(monkeypatch), Stages(monkeypatch)
    changed = preview.edit_reported(RELEASE, lambda t: t + "\nEin neuer letzter Absatz.\n")
    result = preview.build(search_index=False, changed=changed)
    assert stages.calls == []
    assert counts.parsed == [RELEASE] and counts.decoded == 0
    assert result.bodies_rendered == {RELEASE_KEY}
    newsroom = preview.newsroom_files_showing(result, RELEASE_KEY)
    assert result.rendered == {RELEASE_PAGE, "presse/feed.xml"} | newsroom

    # A title is front matter: the model is made again, the sources and templates kept.
    changed = preview.edit_reported(RELEASE, lambda t: t.replace("title: ", "title: Neu – ", 1))
    preview.build(search_index=False, changed=changed)
    assert stages.calls == ["build_site"]
    # A template: compiled again; a file added: content/ walked again.
    stages.calls.clear()
    changed = preview.edit_reported("partials/cards.html", lambda t: t + "\n{# neu #}\n")
    before = preview.files()
    (preview.root / "content/presse/2024-03-01-neu.md").write_text(
        "---\ntitle: Neu\ndate: 2024-03-01\n---\nText.\n", encoding="utf-8"
    )
    changed += changed_paths(before, preview.files())
    preview.build(search_index=False, changed=changed)
    assert sorted(stages.calls) == ["build_site", "discover", "make_environment"]
    clean = tmp_path / "clean"
    preview.build(use_cache=False, output=clean)
    assert tree(preview.output, search_index=False) == tree(clean, search_index=False)


def test_a_start_that_found_nothing_changed_is_prepared_for_the_first_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new session's first build changes nothing and makes no model; ``prepare`` then
    fills the resident state, writing nothing, so that the first save costs what the
    next ones do."""
    site = PreviewSite(tmp_path)
    site.build()  # an earlier session
    site.resident = Resident()  # the preview started again
    assert site.build().site is None
    before = tree(site.output)
    assert prepare(site.config(), now=NOW, out_dir=site.output, jobs=1, resident=site.resident)
    assert tree(site.output) == before
    counts, stages, path = Counts(monkeypatch), Stages(monkeypatch), SavePath(monkeypatch)
    changed = site.edit_reported(RELEASE, lambda t: t + "\nEin neuer letzter Absatz.\n")
    result = site.build(search_index=False, changed=changed)
    assert stages.calls == [] and counts.decoded == 0 and counts.verified == 0
    assert counts.parsed == [RELEASE] and result.bodies_rendered == {RELEASE_KEY}
    assert path.taken == [True]
    clean = tmp_path / "clean"
    site.build(use_cache=False, output=clean)
    assert tree(site.output, search_index=False) == tree(clean, search_index=False)
    # A site with errors is left to the next build to report.
    site.resident = Resident()
    site.edit(RELEASE, lambda t: t.replace("title:", "titel:", 1))
    assert not prepare(site.config(), now=NOW, out_dir=site.output, jobs=1, resident=site.resident)


def test_nothing_changed_reads_nothing_back(
    preview: PreviewSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = Counts(monkeypatch)
    result = preview.build()
    assert result.site is None and result.rendered == frozenset()
    assert counts.parsed == [] and counts.decoded == 0 and counts.verified == 0


def test_without_a_resident_every_document_is_decoded_again(
    preview: PreviewSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart of the test above: what a fresh process reads back from disk."""
    preview.resident = Resident()
    counts = Counts(monkeypatch)
    preview.edit(RELEASE, lambda text: text + "\nEin neuer letzter Absatz.\n")
    preview.build(search_index=False)
    assert counts.parsed == [RELEASE]
    assert counts.decoded > 10 and counts.verified > 100


def test_random_edits_through_the_resident_path_equal_clean_builds(
    preview: PreviewSite, tmp_path: Path
) -> None:
    rng = random.Random(1508)
    edits = _edit_kinds(preview, rng)
    for step in range(14):
        name, edit = rng.choice(edits)
        edit()
        clean = tmp_path / f"clean-{step}"
        preview.build(use_cache=False, output=clean)
        # As the preview does: the pages first, the search index a moment later.
        preview.build(search_index=False)
        assert tree(preview.output, search_index=False) == tree(clean, search_index=False), (
            f"after edit {step}: {name}"
        )
        preview.build()
        assert tree(preview.output) == tree(clean), f"search index after edit {step}: {name}"


def test_random_edits_reported_by_the_watcher_equal_clean_builds(
    preview: PreviewSite, tmp_path: Path
) -> None:
    """As above, with the paths a watcher reports for each edit (``build(changed=…)``):
    sources, model, bodies' summaries and templates kept in memory where they still hold."""
    rng = random.Random(1515)
    edits = _edit_kinds(preview, rng)
    for step in range(16):
        name, edit = rng.choice(edits)
        before = preview.files()
        edit()
        changed = changed_paths(before, preview.files())
        clean = tmp_path / f"clean-{step}"
        preview.build(use_cache=False, output=clean)
        preview.build(search_index=False, changed=changed)
        assert tree(preview.output, search_index=False) == tree(clean, search_index=False), (
            f"after edit {step}: {name}"
        )
        if step % 3 == 2:  # the index follows some edits only: the next edit comes first
            preview.build()
            assert tree(preview.output) == tree(clean), f"search index after edit {step}: {name}"


def test_a_build_failing_while_staging_and_a_deleted_folder_are_recovered_from(
    preview: PreviewSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    preview.edit(RELEASE, lambda text: text + "\nErster Nachtrag.\n")
    preview.build(search_index=False)
    # Lists render after the detail pages: this build fails with staging half changed.
    preview.edit(
        "topic.html", lambda t: t.replace("{% endblock %}", "{{ gibt_es_nicht }}\n{% endblock %}")
    )
    with pytest.raises(BuildFailed):
        preview.build(search_index=False)
    preview.edit("topic.html", lambda t: t.replace("{{ gibt_es_nicht }}\n", ""))
    preview.edit(RELEASE, lambda text: text + "\nZweiter Nachtrag.\n")
    counts = Counts(monkeypatch)
    preview.build()
    # What that build left in staging is not trusted: verified file by file again.
    assert counts.verified > 100
    clean = tmp_path / "clean-after-failure"
    preview.build(use_cache=False, output=clean)
    assert tree(preview.output) == tree(clean)

    # A failed build that never reached staging leaves the memory as it was.
    preview.edit(RELEASE, lambda t: t.replace("title:", "titel:", 1))
    with pytest.raises(BuildFailed):
        preview.build(search_index=False)
    preview.edit(RELEASE, lambda t: t.replace("titel:", "title:", 1))
    counts.reset()
    preview.build()
    assert counts.verified == 0
    assert tree(preview.output) == tree(clean)

    # The preview's folder deleted by hand (or by `make clean`): built whole again.
    shutil.rmtree(preview.output)
    preview.build()
    assert tree(preview.output) == tree(clean)


def test_a_save_without_changes_is_a_no_op_with_or_without_the_search_index(
    preview: PreviewSite,
) -> None:
    """Editors press Ctrl+S out of habit: the preview's search-less rebuild and the index
    that follows it find the site as the last (indexed) build left it."""
    assert preview.build(search_index=False).site is None
    assert preview.build().site is None
    # After a change built without the index, the index still has to follow.
    preview.edit(RELEASE, lambda text: text + "\nNachtrag.\n")
    assert preview.build(search_index=False).site is not None
    assert preview.build(search_index=False).site is None
    indexed = preview.build()
    assert indexed.site is not None and indexed.report is not None
    assert any(path.startswith("pagefind/") for path in indexed.report.written)
    assert preview.build().site is None


def test_the_tree_memory_matches_the_published_files_after_saves_and_index_builds(
    preview: PreviewSite,
) -> None:
    """What the preview remembers of its folder (``TreeMemory``) is what lies there: after
    a save and after the search index that follows it (which writes new index files),
    every remembered size, time and inode is that of the file published. Stats taken
    in staging after the exchange named the files of the tree before (or none), and
    the next save then verified 40,000 files again."""
    for text in ("Erster Nachtrag.", "Zweiter Nachtrag."):
        changed = preview.edit_reported(RELEASE, lambda t, text=text: t + f"\n{text}\n")
        preview.build(search_index=False, changed=changed)
        for build_search in (False, True):
            if build_search:
                preview.build()
            known = preview.resident.tree.published
            assert known is not None
            manifest = known[1]
            assert manifest.files.keys() == set(tree(preview.output))
            for rel, stat in manifest.stats.items():
                info = (preview.output / rel).stat()
                assert stat == [info.st_size, info.st_mtime_ns, info.st_ino], rel


class SavePath:
    """Which way each build told of its changes went: the save of bodies
    (resident_build.py ``save_bodies``: True) or the whole build (False)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken: list[bool] = []
        save_bodies = resident_build_module.save_bodies

        def watching(*args: Any, **kwargs: Any) -> Any:
            result = save_bodies(*args, **kwargs)
            self.taken.append(result is not None)
            return result

        monkeypatch.setattr(resident_build_module, "save_bodies", watching)


def test_a_body_save_renders_and_publishes_only_the_files_that_show_it(
    preview: PreviewSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A save that leaves the front matter alone renders the pages that read the body
    and adds only their files to the tree; the other files stay as published."""
    preview.build()
    path, added = SavePath(monkeypatch), []
    add = output_module.TreeWriter.add

    def counting_add(writer: Any, rel: str, **kwargs: Any) -> None:
        added.append(rel)
        add(writer, rel, **kwargs)

    monkeypatch.setattr(output_module.TreeWriter, "add", counting_add)
    changed = preview.edit_reported(RELEASE, lambda t: t + "\nEin neuer letzter Absatz.\n")
    result = preview.build(search_index=False, changed=changed)
    assert path.taken == [True]
    newsroom = preview.newsroom_files_showing(result, RELEASE_KEY)
    assert result.rendered == {RELEASE_PAGE, "presse/feed.xml"} | newsroom
    # Each with its .gz and .br where they changed (precompress.py).
    assert {a.removesuffix(".gz").removesuffix(".br") for a in added} == result.examined
    assert _pages(result.examined) == {RELEASE_PAGE}
    assert result.report is not None
    assert {w.removesuffix(".gz").removesuffix(".br") for w in result.report.written} == (
        result.rendered
    )
    assert len(result.report.unchanged) > 10 * len(added)

    # A new first paragraph: the summary on every card that shows the release.
    changed = preview.edit_reported(
        RELEASE, lambda t: t.replace("\n---\n", "\n---\nEin neuer Einstieg.\n\n", 1)
    )
    result = preview.build(search_index=False, changed=changed)
    assert path.taken == [True, True]
    showing = preview.pages_showing(result, RELEASE_KEY)
    assert _pages(result.examined) == showing and _pages(result.rendered) == showing
    clean = tmp_path / "clean"
    preview.build(use_cache=False, output=clean)
    assert tree(preview.output, search_index=False) == tree(clean, search_index=False)
    # The search index follows, built whole, and the next save starts from it.
    preview.build()
    assert tree(preview.output) == tree(clean)
    changed = preview.edit_reported(RELEASE, lambda t: t + "\nNoch ein Absatz.\n")
    result = preview.build(search_index=False, changed=changed)
    assert path.taken == [True, True, True] and result.rendered
    preview.build(use_cache=False, output=clean)
    assert tree(preview.output, search_index=False) == tree(clean, search_index=False)


def test_saves_of_bodies_between_every_other_kind_of_edit_equal_clean_builds(
    preview: PreviewSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Body saves take the short way, every other edit (a title, a tag, an address, a
    file added or deleted, a template) the whole build; the site is a clean build's
    after each, with and without the search index that follows."""
    path = SavePath(monkeypatch)
    edits = dict(_edit_kinds(preview, random.Random(1525)))
    steps = [
        *("append", "lead", "retitle", "append", "add", "lead", "delete", "append"),
        *("retag", "append", "reslug", "lead", "template", "append", "lead"),
    ]
    for step, name in enumerate(steps):
        before = preview.files()
        edits[name]()
        changed = changed_paths(before, preview.files())
        path.taken.clear()
        preview.build(search_index=False, changed=changed)
        assert path.taken == [name in ("append", "lead")], f"edit {step}: {name}"
        clean = tmp_path / f"clean-{step}"
        preview.build(use_cache=False, output=clean)
        assert tree(preview.output, search_index=False) == tree(clean, search_index=False), (
            f"after edit {step}: {name}"
        )
        if step % 4 == 3:
            preview.build()
            assert tree(preview.output) == tree(clean), f"search index after edit {step}: {name}"


def test_a_body_save_with_an_error_or_a_new_picture_takes_the_whole_build(
    preview: PreviewSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the short way does not handle is left to the whole build: a broken link is
    reported as a clean build reports it, a picture in the text is processed."""
    path = SavePath(monkeypatch)
    broken = "\nSiehe [dort](gibt-es-nicht.md).\n"
    changed = preview.edit_reported(RELEASE, lambda t: t + broken)
    with pytest.raises(BuildFailed) as failed:
        preview.build(search_index=False, changed=changed)
    with pytest.raises(BuildFailed) as clean_failed:
        preview.build(use_cache=False, output=tmp_path / "clean-broken")
    assert str(failed.value) == str(clean_failed.value) and "gibt-es-nicht" in str(failed.value)
    assert path.taken == [False]
    changed = preview.edit_reported(RELEASE, lambda t: t.replace(broken, "\n"))
    preview.build(search_index=False, changed=changed)
    picture = (
        "\n![Beteiligung online](../medien/bilder/beteiligung.png)"
        '{credit="Foto: Stadt Kaiserslautern"}\n'
    )
    changed = preview.edit_reported(RELEASE, lambda t: t + picture)
    preview.build(search_index=False, changed=changed)
    assert path.taken == [False, False, False]  # after a failed build, then a new picture
    clean = tmp_path / "clean"
    preview.build(use_cache=False, output=clean)
    assert tree(preview.output, search_index=False) == tree(clean, search_index=False)
    # A warning in a body is reported by the save as by the whole build.
    marquee = "\n<marquee>Laufschrift</marquee>\n"
    changed = preview.edit_reported(RELEASE, lambda t: t + marquee)
    saved = preview.build(search_index=False, changed=changed)
    assert path.taken[-1] is True
    # The same edit again, the whole way.
    changed = preview.edit_reported(RELEASE, lambda t: t.replace(marquee, ""))
    preview.build(search_index=False, changed=changed)
    preview.resident.kept.published = None
    changed = preview.edit_reported(RELEASE, lambda t: t + marquee)
    whole = preview.build(search_index=False, changed=changed)
    assert path.taken[-1] is False and whole.site is not None
    assert saved.warnings == whole.warnings and any(RELEASE in str(w) for w in saved.warnings)


@pytest.mark.parametrize("start", ["idle, in steps", "before listening"])
def test_the_first_save_after_a_first_build_places_only_what_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    """A first build renames its staging folder into place, leaving none; the preview
    fills a new one, so that its first save does not link every file of the site while
    the editor waits: while idle, in steps (``stage_published``), or at once before it
    listens after a start that built (``prepare_saves``)."""
    site = PreviewSite(tmp_path)
    site.build(search_index=False)
    if start == "before listening":
        prepare_saves(site.config(), out_dir=site.output, resident=site.resident)
    else:
        config = site.config()
        assert prepare(config, now=NOW, out_dir=site.output, jobs=1, resident=site.resident)
        steps = 1
        while not stage_published(config, out_dir=site.output, resident=site.resident, limit=50):
            steps += 1
        assert steps > 2  # in steps, so that a save coming meanwhile waits for one at most
    placed: list[str] = []
    touch = output_module.TreeWriter._touch

    def counting_touch(writer: Any, rel: str) -> Path:
        placed.append(rel)
        return touch(writer, rel)

    monkeypatch.setattr(output_module.TreeWriter, "_touch", counting_touch)
    path = SavePath(monkeypatch)
    changed = site.edit_reported(RELEASE, lambda t: t + "\nEin neuer letzter Absatz.\n")
    result = site.build(search_index=False, changed=changed)
    assert path.taken == [True] and result.report is not None
    assert set(placed) == set(result.report.written)
    clean = tmp_path / "clean"
    site.build(use_cache=False, output=clean, search_index=False)
    assert tree(site.output, search_index=False) == tree(clean, search_index=False)
    # A process that ends before its next commit leaves what it placed to be undone.
    site.resident = Resident()
    changed = site.edit_reported(RELEASE, lambda t: t + "\nNoch ein Absatz.\n")
    site.build(search_index=False, changed=changed)
    site.build(use_cache=False, output=clean, search_index=False)
    assert tree(site.output, search_index=False) == tree(clean, search_index=False)


def test_a_title_change_after_a_body_save_examines_only_the_pages_that_show_it(
    preview: PreviewSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A body save records the frame and the heads of the build it started from
    (render/pages.py ``_changed_reads``): the whole build of a title change that
    follows still makes the views of only the pages that looked the release up."""
    path = SavePath(monkeypatch)
    changed = preview.edit_reported(RELEASE, lambda t: t + "\nEin neuer letzter Absatz.\n")
    preview.build(search_index=False, changed=changed)
    changed = preview.edit_reported(
        RELEASE,
        lambda t: t.replace(
            "title: Digitale Sprechstunde jeden Dienstag",
            "title: Sprechstunde jetzt auch mittwochs",
        ),
    )
    result = preview.build(search_index=False, changed=changed)
    assert path.taken == [True, False]
    showing = _pages(frozenset(preview.pages_showing(result, RELEASE_KEY)))
    assert _pages(result.examined) == showing
    clean = tmp_path / "clean"
    preview.build(use_cache=False, output=clean)
    assert tree(preview.output, search_index=False) == tree(clean, search_index=False)


def test_the_preview_holds_one_copy_of_the_last_builds_record(preview: PreviewSite) -> None:
    """The record of the last build (3.5 MB at 10,000 items) is read back from the
    database by every build; the preview keeps one copy, and none of a record replaced."""
    memory = preview.resident.cache
    preview.build()  # nothing changed: the record is read and decoded
    (target,) = memory.builds
    assert memory.decoded[target][0] is memory.builds[target]
    changed = preview.edit_reported(RELEASE, lambda t: t + "\nNachtrag.\n")
    preview.build(search_index=False, changed=changed)
    assert target not in memory.decoded, "the replaced record's values are let go"
    preview.build()  # the search index after the save: reads the new record
    assert memory.decoded.get(target) is None or (
        memory.decoded[target][0] is memory.builds[target]
    )


@pytest.mark.parametrize("few_bodies", [1, 2000])
def test_a_title_change_in_the_preview_finds_the_other_bodies_in_the_cache(
    preview: PreviewSite, monkeypatch: pytest.MonkeyPatch, few_bodies: int
) -> None:
    """The preview keeps no copy of the cache's body summaries (cache.py
    ``body_summaries``, looked up by key or read in one pass): a change of the model
    renders only the body that changed, and the site equals a clean build."""
    monkeypatch.setattr(cache_module, "_FEW_BODIES", few_bodies)
    changed = preview.edit_reported(
        RELEASE,
        lambda t: t.replace(
            "title: Digitale Sprechstunde jeden Dienstag", "title: Sprechstunde auch mittwochs"
        ),
    )
    result = preview.build(search_index=False, changed=changed)
    assert result.bodies_rendered <= {RELEASE_KEY}
    clean = preview.root / "clean"
    preview.build(use_cache=False, output=clean)
    assert tree(preview.output, search_index=False) == tree(clean, search_index=False)

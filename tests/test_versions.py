"""The installed libraries' versions from their folders' names (versions.py, issue 15):
what ``importlib.metadata`` says, without loading it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from kldigital_site import versions


def test_every_installed_distribution_has_the_version_and_requirements_metadata_gives() -> None:
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    assert "kldigital-site" in names
    for name in names:
        assert versions.version(name) == metadata.version(name), name
        assert versions.requirements(name) == (metadata.requires(name) or []), name


def test_a_distribution_not_installed_has_no_version() -> None:
    assert versions.version("kein-solches-paket") is None
    assert versions.requirements("kein-solches-paket") is None


@pytest.fixture
def folders_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    folders = [tmp_path / "erster", tmp_path / "zweiter"]
    for folder in folders:
        folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(folder) for folder in folders])
    versions._installed.cache_clear()
    yield folders
    versions._installed.cache_clear()


def _dist_info(folder: Path, name: str, version: str, *requires: str) -> None:
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n\nBeschreibung\n", encoding="utf-8")


def test_what_the_folder_names_cannot_tell_is_asked_of_importlib_metadata(
    folders_on_path: list[Path],
) -> None:
    first, second = folders_on_path
    _dist_info(first, "eins", "1.0", "zwei>=2")
    _dist_info(second, "eins", "9.0")  # later on the path: not the one imported
    # Two of one name in one folder: which one counts is importlib.metadata's to say.
    _dist_info(first, "doppelt", "1.0")
    _dist_info(first, "doppelt", "2.0")
    # An egg's metadata first on the path, a wheel's after it: the egg's counts.
    (first / "alt.egg-info").mkdir()
    (first / "alt.egg-info" / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nName: alt\nVersion: 0.5\n", encoding="utf-8"
    )
    _dist_info(second, "alt", "0.9")
    assert versions.version("eins") == "1.0"
    assert versions.requirements("eins") == ["zwei>=2"]
    assert versions.version("doppelt") == metadata.version("doppelt")
    assert versions.version("alt") == metadata.version("alt") == "0.5"

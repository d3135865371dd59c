"""The gallery manifest lists every page once and orders the site by it."""

from __future__ import annotations

import pytest

from gallery_manifest import GALLERY_DIR, PAGES, SECTIONS, ReadingOrder


def test_the_manifest_lists_every_gallery_page_once():
    on_disk = set(GALLERY_DIR.rglob("plot_*.py"))
    listed = [page.path for page in PAGES]
    missing = sorted(on_disk - set(listed))
    assert not missing, f"add to docs/ext/gallery_manifest.py: {missing}"
    assert not set(listed) - on_disk, f"listed but missing: {sorted(set(listed) - on_disk)}"
    assert len(set(listed)) == len(listed), "a page is listed twice"


def test_every_page_sits_in_its_sections_folder():
    for section in SECTIONS:
        misplaced = [p.file for p in section.pages if p.path.parent.name != section.directory]
        assert not misplaced, f"{section.directory} lists pages of another folder: {misplaced}"


def test_small_settings_name_constants_the_page_defines():
    for page in PAGES:
        source = page.path.read_text()
        unknown = [name for name in page.small or {} if f"\n{name} = " not in source]
        assert not unknown, f"{page.file} has no top-level constant {unknown}"


def test_the_home_page_shows_every_section():
    home = (GALLERY_DIR.parent / "docs" / "index.md").read_text()
    missing = [s.directory for s in SECTIONS if f"../gallery/{s.directory}/plot_*.py" not in home]
    assert not missing, f"docs/index.md's minigallery leaves out {missing}"


def test_the_reading_order_rejects_a_page_missing_from_the_manifest():
    order = ReadingOrder(str(GALLERY_DIR))
    assert order("plot_autograd.py") < order("plot_cifar10_cnn.py")
    with pytest.raises(ValueError, match=r"not in docs/ext/gallery_manifest\.py"):
        order("plot_unlisted.py")

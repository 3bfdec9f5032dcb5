"""Every test file has a tier from its folder (tests/conftest.py), so that `pytest -m <tier>` runs it."""

from __future__ import annotations

from tests.conftest import ROOT, tier_of


def test_every_test_file_has_the_tier_of_its_folder():
    files = sorted((ROOT / "tests").rglob("test_*.py"))
    assert len(files) > 80
    wrong = {}
    for path in files:
        folders = path.relative_to(ROOT / "tests").parts
        expected = "media" if folders[:2] == ("integration", "media") else folders[0]
        if tier_of(path) != expected or expected not in (
            "unit",
            "functional",
            "integration",
            "browser",
            "media",
        ):
            wrong[str(path.relative_to(ROOT))] = tier_of(path)
    assert wrong == {}

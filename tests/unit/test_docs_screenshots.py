"""The README's screenshots (``docs/screenshots/``) are the ones the browser tests take.

The browser tests write to ``.artifacts/screenshots/`` and ``make screenshots`` copies the documented
ones over; a documented name that no test takes any more would silently go stale.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = ROOT / "docs" / "screenshots"


def taken_by_browser_tests() -> set[str]:
    calls = re.compile(r"""\bscreenshot\(\s*\w+\s*,\s*["']([\w-]+)["']\s*\)""")
    return {
        name
        for path in (ROOT / "tests" / "browser").glob("test_*.py")
        for name in calls.findall(path.read_text())
    }


def test_every_documented_screenshot_is_taken_by_a_browser_test():
    documented = {path.stem for path in DOCUMENTED.glob("*.png")}
    assert len(documented) == 11
    assert documented <= taken_by_browser_tests(), "rename or drop them in docs/screenshots/ and the README"


def test_the_readme_shows_only_documented_screenshots_that_exist():
    shown = set(re.findall(r"docs/screenshots/([\w-]+)\.png", (ROOT / "README.md").read_text()))
    assert shown == {path.stem for path in DOCUMENTED.glob("*.png")}

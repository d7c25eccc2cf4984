"""The repository speaks of itself alone: no tracked file names the work periods, issue numbers or paper/seed
numbers of the people building it, nor paths outside the repository."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: the words that mean nothing to someone who clones the repository (assembled so this file does not match itself)
ORDINALS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|[a-z]+teenth|twentieth"
    "|twenty-[a-z]+|thirtieth|[0-9]+(?:st|nd|rd|th)"
)
FORBIDDEN = {
    "a numbered work period": rf"\b(?:{ORDINALS}) (?:and [a-z0-9-]+ )?" + "ses" + r"sions?\b",
    "an issue number": r"\bissues? " + r"#?[0-9]+\b",
    "a paper or seed number": r"\b(?:paper|seed) " + r"0[0-9]{2}\b",
    "a path outside the repository": r"\.\./" + r"shared\b",
}


def _tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    paths = [ROOT / line for line in listed.stdout.splitlines()]
    return [p for p in paths if p.is_file() and p.suffix not in {".png", ".tif", ".tiff", ".nii", ".gz", ".pt"}]


def test_the_patterns_catch_what_they_are_meant_to():
    period, shared = " sess" + "ion", ".." + "/shared"  # split, so that this file does not match itself
    caught = {
        "a numbered work period": [f"measured in the ninth{period}", f"the thirteenth and sixteenth{period}s"],
        "an issue number": ["as iss" + "ue 15 asks"],
        "a paper or seed number": ["pap" + "er 001 says", "(se" + "ed 004)"],
        "a path outside the repository": [f"see {shared}/data"],
    }
    for what, texts in caught.items():
        assert all(re.search(FORBIDDEN[what], t, re.I) for t in texts), what
    assert not any(re.search(p, 'scope="session"; seed 0; issue the command', re.I) for p in FORBIDDEN.values())


def test_tracked_files_speak_of_the_project_alone():
    found = []
    for path in _tracked_text_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for what, pattern in FORBIDDEN.items():
            for match in re.finditer(pattern, text, re.I):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what} ({match.group(0)!r})")
    assert not found, "\n".join(found[:40])

"""Write every task bundle (configs, metadata, docs, licence) from one template and a table of tasks.

Usage::

    python scripts/make_bundles.py write      # (re)write bundles/<task>/ for every task
    python scripts/make_bundles.py check      # exit 1 if a committed bundle file differs from what would be written,
                                              # or a bundle's configs changed under an unchanged version

The bundles share one structure (MONAI bundle ids: ``bundle_root``, ``dataset_dir``, ``output_dir``, ``device``,
``network_def``, ``network``, ``train#trainer``, ``train#handlers``, ``validate#evaluator``, ``initialize`` /
``run`` / ``finalize``) and differ in the task table (``bundlegen/tasks.py``). The configs are built by
``bundlegen/train.py`` and ``bundlegen/inference.py``, the metadata by ``bundlegen/metadata.py``, the docs from
``bundle_templates/docs.md``, each task's prose in ``bundle_templates/tasks/<task>.md`` and the result records
(``bundlegen/docs.py``), the versions from ``bundlegen/versions.py``. Trained-weight files are never written here.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import fire
from bundlegen.docs import docs
from bundlegen.inference import evaluate_config, inference_config
from bundlegen.metadata import metadata
from bundlegen.tasks import TASKS
from bundlegen.train import SETTING_ROWS, multi_gpu_config, train_config
from bundlegen.versions import RELEASED, release_entry, unbumped

#: the checkout this script belongs to, and its templates
ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "scripts" / "bundle_templates"


def compact_json(
    value, *, indent: int = 4, width: int = 120, rows: tuple[tuple[str, ...], ...] = (), level: int = 0
) -> str:
    """JSON as a reader takes it in. A list or object goes on one line where that line fits in ``width``
    characters. Else its entries are packed, whole, as many to a line as fit (``json.dumps(indent=4)`` spreads even
    ``[256, 256]`` over four lines, and a component's dozen short arguments over a dozen), except that a list of
    objects keeps one object per line, an entry spanning lines stands alone, and at the top level only the keys
    grouped together in ``rows`` share a line (the settings a user overrides stay easy to find)."""
    flat = json.dumps(value)
    pad = " " * (indent * level)
    if not isinstance(value, (list, dict)) or not value or len(pad) + len(flat) <= width:
        return flat
    inner = " " * (indent * (level + 1))
    if isinstance(value, list):
        entries = [(None, compact_json(v, indent=indent, width=width, level=level + 1)) for v in value]
        packable = not any(isinstance(v, (list, dict)) for v in value)
    else:
        entries = [
            (k, json.dumps(k) + ": " + compact_json(v, indent=indent, width=width, level=level + 1))
            for k, v in value.items()
        ]
        packable = True
    group = {key: i for i, keys in enumerate(rows) for key in keys}
    lines: list[str] = []
    line, line_group = "", None
    for key, text in entries:
        joins = (
            line
            and packable
            and "\n" not in text
            and (level > 0 or (key in group and group[key] == line_group))
            and len(line) + 2 + len(text) + 1 <= width
        )
        if joins:
            line += ", " + text
            continue
        if line:
            lines.append(line)
        line, line_group = inner + text, group.get(key, -1 - len(lines))
        if "\n" in text:
            lines.append(line)
            line = ""
    if line:
        lines.append(line)
    opening, closing = "[]" if isinstance(value, list) else "{}"
    return opening + "\n" + ",\n".join(lines) + "\n" + pad + closing


def files(name: str, task: dict) -> dict[str, str]:
    """Every generated file of one bundle, relative to the bundle folder, with its text."""
    train = train_config(name, task)
    inference = inference_config(name, task, train)
    out = {
        "configs/train.json": compact_json(train, rows=SETTING_ROWS) + "\n",
        "configs/multi_gpu_train.json": compact_json(multi_gpu_config(train)) + "\n",
        "configs/inference.json": compact_json(inference) + "\n",
        "configs/evaluate.json": compact_json(evaluate_config(name, task, inference)) + "\n",
        "configs/metadata.json": compact_json(metadata(name, task)) + "\n",
        "configs/logging.conf": (TEMPLATES / "logging.conf").read_text(),
        "models/README.md": (TEMPLATES / "models_README.md").read_text(),
        "docs/README.md": docs(name, task),
        "LICENSE": (ROOT / "LICENSE").read_text(),
    }
    return out


def _released(generated: dict[str, dict[str, str]]) -> str:
    """``released.json`` as ``write`` leaves it for these generated bundles."""
    return json.dumps({name: release_entry(name, out) for name, out in generated.items()}, indent=1) + "\n"


def write() -> None:
    """(Re)write the generated files of every bundle; refuses (exit 1, nothing written) when a bundle's configs
    changed under an unchanged version."""
    generated = {name: files(name, task) for name, task in TASKS.items()}
    refused = [why for name, out in generated.items() if (why := unbumped(name, out))]
    if refused:
        sys.exit("\n".join(refused))
    for name, out in generated.items():
        for rel, text in out.items():
            path = ROOT / "bundles" / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        print(f"bundles/{name}: {len(out)} files")
    RELEASED.write_text(_released(generated))


def check() -> None:
    """Exit with status 1 (printing a diff) if a bundle file differs from what ``write`` would produce, or refuse
    configs changed under an unchanged version."""
    stale = 0
    generated = {name: files(name, task) for name, task in TASKS.items()}
    refused = [why for name, out in generated.items() if (why := unbumped(name, out))]
    if refused:
        sys.exit("\n".join(refused))
    if not RELEASED.exists() or RELEASED.read_text() != _released(generated):
        stale += 1
        print(f"{RELEASED} (the versions the bundles were written with) is out of date")
    for name, out in generated.items():
        for rel, text in out.items():
            path = ROOT / "bundles" / name / rel
            current = path.read_text() if path.exists() else ""
            if current != text:
                stale += 1
                sys.stdout.writelines(
                    difflib.unified_diff(
                        current.splitlines(True),
                        text.splitlines(True),
                        f"{path} (committed)",
                        f"{path} (generated)",
                        n=1,
                    )
                )
    if stale:
        sys.exit(f"{stale} bundle file(s) out of date: run python scripts/make_bundles.py write")
    print("bundles are up to date")


if __name__ == "__main__":
    fire.Fire({"write": write, "check": check})

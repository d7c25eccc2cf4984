"""Result records: every figure the project publishes is a JSON file under ``results/<task>/`` written by a
benchmark, holding the values per seed and image set and where they came from (command line, commit, date, CPU or
GPU and threads, budget, data set). ``python scripts/benchmark.py report`` renders them into ``results/README.md``;
``--check`` fails when that page is not what the records give.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
PAGE = "README.md"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def provenance(threads: int | None = None) -> dict:
    """Where a figure comes from: command line, commit (and whether the tree had uncommitted changes), UTC time,
    CPU model, threads, torch version and the GPU if one was used."""
    import torch

    return {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": _cpu(),
        "threads": int(threads if threads is not None else torch.get_num_threads()),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def write_record(task: str, name: str, record: dict, results: str | os.PathLike = RESULTS) -> Path:
    """Write ``record`` as ``results/TASK/NAME.json`` (replacing an older one of that name)."""
    path = Path(results) / task / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def read_records(results: str | os.PathLike = RESULTS) -> list[dict]:
    """Every record under ``results``, ordered by task and name."""
    return [json.loads(p.read_text()) for p in sorted(Path(results).glob("*/*.json"))]


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{statistics.median(values):.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def converge_table(record: dict) -> list[str]:
    """The Markdown table of one convergence record: baselines, then each method's median (min-max) over seeds."""
    base = record["baselines"]
    best = max(base, key=lambda k: base[k]["psnr"])
    lines = [
        f"#### {record['task']}: {record['label']}",
        "",
        f"Budget: {record['iterations']} iterations, patch {record['patch']} px, batch 1, "
        f"{record['validations']} validations on the validation split (selection never sees the test images). "
        "Scores: median over the test images after a least-squares intensity fit (PSNR dB, SSIM; PCC raw); "
        "methods: median (min-max) over seeds. `artefact`: the largest streak / checkerboard score against the "
        "truth's (1 = the truth's own; target at most 1.1).",
        "",
        "| row | seeds | PSNR | SSIM | PCC | artefact | PSNR over best baseline | PCC over it | train min |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, b in base.items():
        label = b.get("label", name) + (" **(best baseline)**" if name == best else "")
        lines.append(
            f"| {label} | - | {_fmt(b['psnr'])} | {_fmt(b['ssim'], 3)} | {_fmt(b['pcc'], 3)} "
            f"| {_fmt(b.get('artefact'))} | - | - | - |"
        )
    by_variant: dict[str, list[dict]] = {}
    for run in record["runs"]:
        by_variant.setdefault(run["variant"], []).append(run)
    for variant, runs in by_variant.items():
        sel = [r["selected"] for r in runs]
        psnr, pcc = [s["psnr"] for s in sel], [s["pcc"] for s in sel]
        artefact = [s["artefact"] for s in sel if s.get("artefact") is not None]
        lines.append(
            f"| {variant} | {','.join(str(r['seed']) for r in runs)} | {_spread(psnr)} "
            f"| {_spread([s['ssim'] for s in sel])} | {_spread(pcc)} "
            f"| {_spread(artefact) if artefact else '-'} "
            f"| {statistics.median(psnr) - base[best]['psnr']:+.2f} "
            f"| {statistics.median(pcc) - base[best]['pcc']:+.3f} "
            f"| {statistics.median(r['train_s'] for r in runs) / 60:.0f} |"
        )
    machines = sorted({f"{r['provenance']['cpu']}, {r['provenance']['threads']} thread(s)" for r in record["runs"]})
    commits = sorted({r["provenance"]["commit"][:10] for r in record["runs"]})
    lines += ["", f"Machines: {'; '.join(machines)}. Commits: {', '.join(commits)}.", ""]
    return lines


def render(records: list[dict]) -> str:
    """``results/README.md`` from the records."""
    lines = [
        "# Measured results",
        "",
        "Generated by `python scripts/benchmark.py report` from the JSON records beside this page (one per task "
        "and benchmark, each with the command, commit, date and machine of every run); do not edit by hand.",
        "",
    ]
    tasks = sorted({r["task"] for r in records})
    for task in tasks:
        lines += [f"## {task}", ""]
        for record in (r for r in records if r["task"] == task):
            if record["benchmark"] == "converge":
                lines += converge_table(record)
    return "\n".join(lines).rstrip() + "\n"


def report(results: str = str(RESULTS), check: bool = False) -> str:
    """Write (or with ``check``, compare) ``results/README.md`` from the records; exits 1 when it is stale."""
    page = Path(results) / PAGE
    text = render(read_records(results))
    if check:
        if not page.exists() or page.read_text() != text:
            sys.exit(f"{page} is not what the records give: run python scripts/benchmark.py report")
        print(f"{page}: up to date")
        return text
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    print(text)
    return text

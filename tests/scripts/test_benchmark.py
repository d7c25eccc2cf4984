"""The fidelity benchmark end to end at a toy scale: every method trained and evaluated on the same data, the
input baseline and the reference count in one table, written where asked."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_fidelity_table_for_two_methods_with_baseline(tmp_path):
    cmd = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "fidelity", "--task", "calcium"]
    cmd += ["--iterations", "2", "--patch", "32", "--phantom_size", "48", "--out", str(tmp_path)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    table = (tmp_path / "calcium" / "fidelity.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    header, *body = rows
    assert [r.split("|")[1].strip() for r in body] == ["input (untranslated)", "cyclegan", "stable"]
    for metric in ("psnr", "ssim", "f1", "distance", "trace_pcc"):
        assert metric in header
    assert "Reference:" in table and "true objects per image" in table
    cells = [c.strip() for c in body[1].split("|")[3:-1]]
    assert all(c != "" for c in cells) and any(c[0].isdigit() or c[0] == "-" for c in cells)
    for method in ("cyclegan", "stable"):
        assert (tmp_path / "calcium" / method / "evaluation" / "summary.json").exists()


def test_speed_flops_inference_and_overhead_commands_write_tables(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    script = str(ROOT / "scripts" / "benchmark.py")
    out = tmp_path / "tables.md"
    commands = [
        ["flops", "--methods", "stable", "--patch", "32", "--repeats", "1", "--threads", "1"],
        ["inference", "--methods", "stable", "--volume", "(4,32,32)", "--tile_image", "64", "--repeats", "1"],
        ["overhead", "--patch", "32", "--iterations", "2", "--rounds", "1", "--threads", "1"],
    ]
    for args in commands:
        done = subprocess.run(
            [sys.executable, script, *args, "--append", str(out)], capture_output=True, text=True, timeout=600, env=env
        )
        assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    flops_row = next(line for line in text.splitlines() if line.startswith("| stable |") and "%" in line)
    assert float(flops_row.split("|")[2]) > 0  # TFLOP per iteration counted
    assert "batched / one" in text and "Engine / plain:" in text

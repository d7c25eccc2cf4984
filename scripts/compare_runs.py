"""Compare evaluation runs side by side, as the papers' tables do: one row per method, median (IQR) per metric,
and box plots of the per-object / per-image values across methods.

Usage::

    python scripts/compare_runs.py --experiment calcium [--tracking_uri sqlite:///mlflow/mlruns.db]
        [--run_ids ID1,ID2] [--metrics psnr,ssim,f1,pq,distance,iou,trace_pcc] [--out comparison]

Runs are the evaluation runs (``stage=evaluation``) of the experiment unless ``--run_ids`` names them; rows are
labelled by their ``method`` parameter (or run name). Writes ``OUT/comparison.md``, ``OUT/comparison.csv`` and
``OUT/comparison_boxplot.png``; prints the Markdown table.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import tempfile
from pathlib import Path

import fire

import common

DEFAULT_METRICS = ("psnr", "ssim", "micro_ms_ssim", "pcc", "f1", "pq", "distance", "iou", "trace_pcc")


def _cell(median: float | None, iqr: float | None) -> str:
    if median is None or (isinstance(median, float) and math.isnan(median)):
        return "-"
    text = f"{median:.3g}"
    return text + (f" ({iqr:.2g})" if iqr is not None and not math.isnan(iqr) else "")


def main(
    experiment: str | None = None,
    tracking_uri: str | None = None,
    run_ids: str | tuple | None = None,
    metrics: str | tuple = DEFAULT_METRICS,
    out: str = "comparison",
) -> str:
    """Build the comparison table and figure; return the Markdown table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import mlflow

    uri = tracking_uri or "sqlite:///" + os.path.join(common.PROJECT_ROOT, "mlflow", "mlruns.db")
    client = mlflow.MlflowClient(uri)
    if run_ids:
        ids = run_ids.split(",") if isinstance(run_ids, str) else list(run_ids)
        runs = [client.get_run(i) for i in ids]
    else:
        if experiment is None:
            sys.exit("compare_runs: give --experiment or --run_ids")
        found = client.get_experiment_by_name(experiment)
        if found is None:
            sys.exit(f"compare_runs: no experiment {experiment!r} in {uri}")
        runs = client.search_runs([found.experiment_id], filter_string="params.stage = 'evaluation'")
    if not runs:
        sys.exit("compare_runs: no evaluation runs found")
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [m for m in names if any(m in r.data.metrics for r in runs)]
    header = ["method", "run"] + names
    rows = []
    for r in runs:
        label = r.data.params.get("method") or r.info.run_name
        rows.append(
            [label, r.info.run_name] + [_cell(r.data.metrics.get(m), r.data.metrics.get(f"{m}_iqr")) for m in names]
        )
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    table += "".join("| " + " | ".join(row) + " |\n" for row in rows)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.md").write_text(f"Median (IQR) per run; tracking store {uri}\n\n" + table)
    with open(out_dir / "comparison.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in runs:
            label = r.data.params.get("method") or r.info.run_name
            writer.writerow([label, r.info.run_name] + [r.data.metrics.get(m, "") for m in names])
    # box plots from the per-object (else per-image) values each run logged
    values: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in runs:
            label = r.data.params.get("method") or r.info.run_name
            artifacts = {a.path for a in client.list_artifacts(r.info.run_id)}
            for name in ("per_object.csv", "per_image.csv"):
                if name in artifacts:
                    local = client.download_artifacts(r.info.run_id, name, tmp)
                    for row in csv.DictReader(open(local)):
                        for m in names:
                            if row.get(m) not in (None, ""):
                                values.setdefault(m, {}).setdefault(label, []).append(float(row[m]))
    plotted = [m for m in names if m in values]
    if plotted:
        fig, axes = plt.subplots(1, len(plotted), figsize=(3 * len(plotted), 3.2), squeeze=False)
        for ax, m in zip(axes[0], plotted, strict=True):
            labels = list(values[m])
            ax.boxplot([[v for v in values[m][k] if math.isfinite(v)] for k in labels])
            ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30, fontsize=7)
            ax.set_title(m)
        fig.tight_layout()
        fig.savefig(out_dir / "comparison_boxplot.png", dpi=100)
        plt.close(fig)
    print(table)
    return table


if __name__ == "__main__":
    fire.Fire(main)

"""Compare evaluation runs side by side, as the papers' tables do: one row per method, median (IQR) per metric,
and box plots of the per-object / per-image values across methods.

Usage::

    python scripts/compare_runs.py --experiment calcium [--tracking_uri sqlite:///mlflow/mlruns.db]
        [--run_ids ID1,ID2] [--metrics psnr,ssim,f1,pq,distance,iou,trace_pcc] [--headline psnr] [--out comparison]

Runs are the evaluation runs (``stage=evaluation``) of the experiment unless ``--run_ids`` names them; rows are
labelled by their ``method`` parameter (or run name). The no-network baselines that ``evaluate.json`` logs beside
every translation (method ``baseline:NAME``) are rows too; each translation's row names the best of them on its data
set (by ``--headline``, PSNR unless told) and its margin over it, in the headline metric and in PCC. Writes
``OUT/comparison.md``, ``OUT/comparison.csv`` and ``OUT/comparison_boxplot.png``; prints the Markdown table.
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


def _label(run) -> str:
    return run.data.params.get("method") or run.info.run_name


def best_baselines(runs: list, headline: str) -> dict[str, dict]:
    """Per run id of a translation: the best baseline run (method ``baseline:*``) of its data set by ``headline``
    (``{"name", "headline", "pcc"}``); runs without baselines on their data set are left out."""
    by_data: dict[str | None, list] = {}
    for r in runs:
        if _label(r).startswith("baseline:") and headline in r.data.metrics:
            by_data.setdefault(r.data.params.get("dataset_dir"), []).append(r)
    found = {}
    for r in runs:
        candidates = by_data.get(r.data.params.get("dataset_dir"))
        if _label(r).startswith("baseline:") or not candidates or headline not in r.data.metrics:
            continue
        best = max(candidates, key=lambda b: b.data.metrics[headline])
        found[r.info.run_id] = {
            "name": _label(best).split(":", 1)[1],
            "headline": r.data.metrics[headline] - best.data.metrics[headline],
            "pcc": r.data.metrics.get("pcc", math.nan) - best.data.metrics.get("pcc", math.nan),
        }
    return found


def main(
    experiment: str | None = None,
    tracking_uri: str | None = None,
    run_ids: str | tuple | None = None,
    metrics: str | tuple = DEFAULT_METRICS,
    out: str = "comparison",
    headline: str = "psnr",
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
    margins = best_baselines(runs, headline)
    header = ["method", "run"] + names
    if margins:
        header += ["best baseline", f"{headline} over it", "PCC over it"]
    rows = []
    for r in runs:
        row = [_label(r), r.info.run_name]
        row += [_cell(r.data.metrics.get(m), r.data.metrics.get(f"{m}_iqr")) for m in names]
        if margins:
            m = margins.get(r.info.run_id)
            row += [m["name"], f"{m['headline']:+.3g}", f"{m['pcc']:+.3f}"] if m else ["-", "-", "-"]
        rows.append(row)
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    table += "".join("| " + " | ".join(row) + " |\n" for row in rows)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.md").write_text(f"Median (IQR) per run; tracking store {uri}\n\n" + table)
    with open(out_dir / "comparison.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in runs:
            row = [_label(r), r.info.run_name] + [r.data.metrics.get(m, "") for m in names]
            if margins:
                m = margins.get(r.info.run_id, {})
                row += [m.get("name", ""), m.get("headline", ""), m.get("pcc", "")]
            writer.writerow(row)
    # box plots from the per-object (else per-image) values each run logged
    values: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in runs:
            label = _label(r)
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

"""Score a translation on held-out data: pixel metrics against ``testB`` (frame by frame), object metrics
against ``testB_labels`` (instance matching, panoptic quality), STABLE's nearest-object analysis of every input
object, and - for movies - the correlation of activity traces. Writes ``per_image.csv``, ``per_object.csv``,
``summary.json`` (metric -> median), figures, and (optionally) an MLflow run.

The segmenter that turns translations into objects is named in every report (``segmenter`` in
``summary.json``): the classical fallback unless a Cellpose model is given.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from common.data.channels import mix_channels
from common.data.layout import image_stem, list_images, paired_test_items
from common.data.normalization import Normalization
from common.data.slicing import axes_to_slice, take_slice
from common.errors import InputDataError
from common.evaluation.figures import box_plot, overlay
from common.evaluation.options import Reports, RunTracking, Scoring
from common.evaluation.report import item_panels, panel_figure, selection_note, watch_trips, write_report
from common.evaluation.review import fit_to_truth, read_raw
from common.evaluation.trivial import make_baseline
from common.flags import as_optional
from common.inference.ensemble import UncertaintyTranslator
from common.inference.files import Outputs, translate_files
from common.inference.inferer import Tiling
from common.inference.translate import uncertainty_path
from common.io.atomic import atomic_path
from common.io.load import load_image
from common.metrics.artefacts import ARTEFACTS, artefact_scores
from common.metrics.objects import instance_metrics, nearest_object_analysis
from common.metrics.pixel import aggregate, pixel_metrics
from common.metrics.review import review_scores
from common.metrics.signal import roi_traces, trace_correlations
from common.metrics.steganography import hides_input, steganography_probe
from common.metrics.uncertainty import uncertainty_scores
from common.tracking import experiment_id

__all__ = ["evaluate"]

PIXEL = ("rmse", "mae", "psnr", "ssim", "ms_ssim", "micro_ms_ssim", "pcc")
#: the review scores (:func:`~common.metrics.review.review_scores`: least-squares intensity fit of the stored files)
REVIEW = ("review_psnr", "review_ssim")
UNCERTAINTY = ("uncertainty_spearman", "uncertainty_top_ratio")
#: object metrics against testB_labels; ``invented``: translated objects with no reference object (IoU >= 0.5),
#: ``missed``: reference objects the translation lacks
OBJECT = ("n_reference", "n_prediction", "invented", "missed", "precision", "recall", "f1", "sq", "pq")
PROBE = (
    "cycle_mae",
    "cycle_mae_lowpass",
    "cycle_mae_noised",
    "degradation",
    "lowpass_gain",
    "noise_gain",
    "high_frequency_fraction",
)


def _probe(method, path, spec: Mapping, cutoff: float, device) -> dict[str, float]:
    """Steganography probe on up to 4 frames/slices of one input (normalised as in training)."""
    image = _normalised(path, spec.get("normalization_a"))
    if spec.get("channel_mix_a") is not None:
        image = mix_channels(image, spec["channel_mix_a"])
    frames = _frames(image)
    picks = [frames[i] for i in np.unique(np.linspace(0, len(frames) - 1, min(4, len(frames))).round().astype(int))]
    batch = torch.stack([torch.as_tensor(f).float() for f in picks]).to(device)
    method = method.to(device).eval()
    cycle_cutoff = float(getattr(method, "dct_cutoff", 1.0))
    return steganography_probe(
        method.generator_ab, method.generator_ba, batch, cutoff=cutoff, spatial_dims=2, cycle_cutoff=cycle_cutoff
    )


def _normalised(path, normalization: Mapping | None) -> torch.Tensor:
    return Normalization.from_config(normalization)(load_image(path))


def _frames(image: torch.Tensor) -> list[torch.Tensor]:
    axes = axes_to_slice(image, 2)
    if not axes:
        return [image]
    sizes = [image.shape[a + 1] for a in axes]
    return [take_slice(image, axes, list(np.unravel_index(i, sizes))) for i in range(int(np.prod(sizes)))]


def _object_image(image: torch.Tensor) -> np.ndarray:
    """Channel-first array to segment: movies are averaged over time (objects do not move)."""
    x = image.detach().cpu().numpy()
    axes = str(getattr(image, "meta", {}).get("spatial_axes", ""))
    if axes.startswith("T"):
        x = x.mean(axis=1)
    return x


def _artefacts(pred: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    """:func:`~common.metrics.artefacts.artefact_scores` of the channel means, averaged over 2D frames (none for
    frames under 16 pixels a side)."""
    scores = [
        artefact_scores(p.mean(dim=0).numpy(), r.mean(dim=0).numpy())
        for p, r in zip(_frames(pred), _frames(ref), strict=True)
        if p.ndim == 3 and min(p.shape[1:]) >= 16
    ]
    return {k: float(np.nanmean([s[k] for s in scores])) for k in ARTEFACTS} if scores else {}


def _time_axis(image) -> bool:
    return str(getattr(image, "meta", {}).get("spatial_axes", "")).startswith("T")


def _write_csv(path: Path, rows: list[dict], overwrite: bool) -> None:
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def evaluate(
    dataset_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    network: torch.nn.Module | None = None,
    spec: Mapping | None = None,
    predictions_dir: str | os.PathLike | None = None,
    scoring: Scoring | None = None,
    reports: Reports | None = None,
    tracking: RunTracking | None = None,
    tiling: Tiling | None = None,
    device: str | torch.device = "cpu",
) -> dict:
    """Evaluate translations of ``dataset_dir/testA``.

    Args:
        dataset_dir: data set with ``testA`` (and optionally ``testB``, ``testA_labels``, ``testB_labels``).
        output_dir: where reports (and translations, when made here) go.
        network: the A -> B generator; used when ``predictions_dir`` is not given.
        spec: the model spec (:class:`~common.methods.ModelSpec`): normalisations, patch size, channel mixing.
        predictions_dir: translations already made (same file names as ``testA``).
        scoring: segmenters, no-network baselines, headline metric, steganography probe (:class:`Scoring`).
        reports: the checkpoint named, the images shown, overwriting (:class:`Reports`).
        tracking: the MLflow run (:class:`RunTracking`; default: none).
        tiling: the inference tiles (:class:`~common.inference.Tiling`; default that of ``translate_files``).
        device: for translating.

    A ``network`` that is an :class:`~common.inference.ensemble.UncertaintyTranslator` (the test-time ensemble,
    which translates with its mean, or the learned error head's translator) writes the per-pixel uncertainty under
    ``output_dir/uncertainty``; with a truth, the uncertainty is scored against the error (``uncertainty_spearman``,
    ``uncertainty_top_ratio``).

    Returns:
        the summary (metric -> median, plus IQRs and the segmenter used).
    """
    scoring, reports, tracking = scoring or Scoring(), reports or Reports(), tracking or RunTracking()
    segmenter, segmenter_input, baselines = scoring.segmenter, scoring.segmenter_input, scoring.baselines
    method, probe_cutoff = scoring.probe_method, scoring.probe_cutoff
    checkpoint, report_images, overwrite = reports.checkpoint, reports.images, reports.overwrite
    spec = dict(spec or {})
    out = Path(output_dir)
    items = paired_test_items(dataset_dir)
    ensemble = isinstance(network, UncertaintyTranslator) and predictions_dir is None
    uncertainty_dir = out / "uncertainty" if ensemble else None
    if predictions_dir is None:
        if network is None:
            raise ValueError("give a network (with its spec) or a folder of predictions")
        predictions_dir = out / "predictions"
        translate_files(
            network,
            [i.A for i in items],
            predictions_dir,
            spec=spec,
            tiling=tiling,
            outputs=Outputs(overwrite=overwrite, uncertainty_dir=uncertainty_dir),
            device=device,
        )
    predictions = {image_stem(p): p for p in list_images(predictions_dir)}
    norm_b = spec.get("normalization_b")
    per_image, per_object = [], []
    first_overlay = None
    panels = []
    for item in items:
        stem = image_stem(item.A)
        if stem not in predictions:
            raise InputDataError(predictions_dir, f"no prediction for {Path(item.A).name}")
        pred = _normalised(predictions[stem], norm_b)
        row: dict = {"image": Path(item.A).name}
        ref = spread = None
        if uncertainty_dir is not None:
            spread = load_image(uncertainty_path(predictions[stem], uncertainty_dir), dtype=None)
        if item.B is not None:
            ref = _normalised(item.B, norm_b)
            if tuple(ref.shape) != tuple(pred.shape):
                raise InputDataError(
                    predictions[stem], f"shape {tuple(pred.shape)} differs from testB {tuple(ref.shape)}"
                )
            frames = [
                pixel_metrics(p.numpy(), r.numpy(), 2, data_range=1.0)
                for p, r in zip(_frames(pred), _frames(ref), strict=True)
            ]
            row |= {k: float(np.mean([f[k] for f in frames])) for k in PIXEL}
            row |= _artefacts(pred, ref)
            truth = read_raw(item.B)
            review = review_scores(fit_to_truth(read_raw(predictions[stem]), truth, predictions[stem], item.B), truth)
            row |= {"review_psnr": review["psnr"], "review_ssim": review["ssim"]}
            if spread is not None:
                scores = uncertainty_scores(spread.numpy(), pred.numpy(), ref.numpy())
                row |= {"uncertainty_spearman": scores["spearman"], "uncertainty_top_ratio": scores["top_ratio"]}
        if len(panels) < int(report_images):
            source_image = _normalised(item.A, spec.get("normalization_a"))
            panels.append((row["image"], item_panels(source_image, pred, ref, spread)))
        if segmenter is not None:
            pred_labels = segmenter(_object_image(pred))
            if item.B_labels is not None:
                ref_labels = load_image(item.B_labels, dtype=None)[0].numpy()
                scores = instance_metrics(ref_labels, pred_labels)
                row |= {k: v for k, v in scores.items() if k in OBJECT} | {
                    "invented": scores["fp"],
                    "missed": scores["fn"],
                }
            source = load_image(item.A)
            if item.A_labels is not None:
                input_labels = load_image(item.A_labels, dtype=None)[0].numpy()
            elif segmenter_input is not None:
                input_labels = segmenter_input(_object_image(_normalised(item.A, spec.get("normalization_a"))))
            else:
                input_labels = None
            if input_labels is not None:
                nearest = nearest_object_analysis(input_labels, pred_labels)
                if _time_axis(source) and nearest:
                    movie_in = source[0].numpy()
                    traces_in, _ = roi_traces(movie_in, input_labels, [r["input_id"] for r in nearest])
                    traces_out, _ = roi_traces(pred[0].numpy(), pred_labels, [r["translated_id"] for r in nearest])
                    pcc = trace_correlations(traces_in, traces_out)
                    for r, value in zip(nearest, pcc, strict=True):
                        r["trace_pcc"] = float(value)
                for r in nearest:
                    per_object.append({"image": row["image"]} | r)
                row["distance"] = aggregate(r["distance"] for r in nearest)["median"]
                row["iou"] = aggregate(r["iou"] for r in nearest)["median"]
                if first_overlay is None:
                    first_overlay = (source, pred, input_labels, pred_labels, row["image"])
        if method is not None and getattr(method, "generator_ba", None) is not None:
            row |= _probe(method, item.A, spec, probe_cutoff, device)
        per_image.append(row)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "per_image.csv", per_image, overwrite)
    if per_object:
        _write_csv(out / "per_object.csv", per_object, overwrite)
    summary: dict = {
        "segmenter": getattr(segmenter, "name", None) if segmenter is not None else None,
        "n_images": len(per_image),
        "n_objects": len(per_object),
    }
    for key in (*PIXEL, *REVIEW, *ARTEFACTS, *UNCERTAINTY, *OBJECT, *PROBE):
        values = [r[key] for r in per_image if key in r]
        if values:
            agg = aggregate(values)
            summary[key], summary[f"{key}_iqr"] = agg["median"], agg["iqr"]
    for key in ("distance", "iou", "trace_pcc"):
        values = [r[key] for r in per_object if key in r]
        if values:
            agg = aggregate(values)
            summary[key], summary[f"{key}_iqr"] = agg["median"], agg["iqr"]
    if baselines:
        summary |= _baselines(summary, dataset_dir, out / "baselines", spec, scoring, reports, tracking, device)
    with atomic_path(out / "summary.json", overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(summary, indent=4))
    figures = []
    if per_object:
        figures.append(box_plot(per_object, ("distance", "iou", "trace_pcc"), out / "objects_boxplot.png", overwrite))
    if first_overlay is not None:
        figures.append(overlay(*first_overlay, out / "overlay.png", overwrite))
    described = network.description if uncertainty_dir is not None else None
    figures += _report(out, panels, summary, checkpoint, described, overwrite)
    if as_optional(tracking.uri):
        _log_mlflow(
            tracking.uri,
            tracking.experiment_name,
            tracking.run_name,
            tracking.params,
            summary,
            [out / "per_image.csv", out / "summary.json", *figures] + ([out / "per_object.csv"] if per_object else []),
        )
    return summary


def _baselines(
    summary: Mapping, dataset_dir, out: Path, spec: Mapping, scoring: Scoring, reports: Reports,
    tracking: RunTracking, device,
) -> dict:  # fmt: skip
    """Evaluate each of ``scoring.baselines`` as a translation (its own folder, report and MLflow run); the best by
    the headline metric and the translation's margins over it."""
    headline, params, run_name = scoring.headline, dict(tracking.params or {}), tracking.run_name
    whole = Tiling(roi_size=[2**16] * int(spec.get("spatial_dims", 2)))  # a histogram is the whole image's
    scores: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for name in scoring.baselines:
        try:
            module, chosen = make_baseline(name, dataset_dir, spec)
        except InputDataError as e:  # e.g. no validation pairs to choose the blur's width on
            skipped[name] = str(e)
            continue
        run = dataclasses.replace(
            tracking,
            run_name=f"baseline-{name}" + (f"-{run_name}" if run_name else ""),
            params=params | {"method": f"baseline:{name}", "baseline": json.dumps(chosen)},
        )
        result = evaluate(
            dataset_dir, out / name, network=module, spec=spec, tiling=whole, device=device, tracking=run,
            scoring=dataclasses.replace(scoring, baselines=None, probe_method=None),
            reports=dataclasses.replace(reports, images=1, checkpoint=None),
        )  # fmt: skip
        scores[name] = {k: v for k, v in result.items() if isinstance(v, (int, float)) and not k.endswith("_iqr")}
        scores[name] |= {"settings": chosen}
    extra: dict = {"baselines": scores} | ({"baselines_skipped": skipped} if skipped else {})
    ranked = [n for n in scores if headline in scores[n]]
    if ranked and headline in summary:
        best = max(ranked, key=lambda n: scores[n][headline])
        extra["best_baseline"] = best
        extra["headline"] = headline
        extra["headline_over_baseline"] = summary[headline] - scores[best][headline]
        if "pcc" in summary and "pcc" in scores[best]:
            extra["pcc_over_baseline"] = summary["pcc"] - scores[best]["pcc"]
    return extra


def _report(
    out: Path, panels: list, summary: Mapping, checkpoint, uncertainty: str | None, overwrite: bool
) -> list[Path]:
    """``report.html`` and its panel figures (returned for MLflow, page first)."""
    page = out / "report.html"
    if page.exists() and not overwrite:
        raise FileExistsError(f"{page}: already exists; refusing to overwrite")
    figures = [panel_figure(p, name, out / f"report_{i}.png") for i, (name, p) in enumerate(panels)]
    warnings, notes = [], [selection_note(checkpoint)]
    if "lowpass_gain" in summary:
        verdict = hides_input(summary)
        text = (
            f"Steganography probe: the reverse generator moves {summary['lowpass_gain']:.2f}x (low-pass) and "
            f"{summary['noise_gain']:.2f}x (noise) the disturbance of the translation (median over images)"
        )
        (warnings if verdict else notes).append(
            text + (": the cycle decodes a hidden copy of its input; do not trust it." if verdict else ": honest.")
        )
    else:
        notes.append("Steganography probe: not run (needs the training checkpoint with both generators).")
    if watch_trips(checkpoint):  # the selection note names them; shown as a warning
        warnings.append(notes.pop(0))
    if not uncertainty:
        notes.append("Uncertainty: not computed (evaluate with --uncertainty true).")
    else:
        notes.append(uncertainty)
    if "best_baseline" in summary:
        name, key = summary["best_baseline"], summary["headline"]
        notes.append(
            f"Best no-network baseline: {name} ({key} {summary['baselines'][name][key]:.4g}); this translation "
            f"{summary['headline_over_baseline']:+.3g} {key}"
            + (f", PCC {summary['pcc_over_baseline']:+.3f}" if "pcc_over_baseline" in summary else "")
            + " against it."
        )
    for name, why in summary.get("baselines_skipped", {}).items():
        notes.append(f"Baseline {name} not evaluated: {why}")
    metrics = {k: v for k, v in summary.items() if not k.endswith("_iqr") and not isinstance(v, Mapping)}
    write_report(page, f"Fidelity report: {out.name}", figures, metrics, notes, warnings)
    return [page, *figures]


def _log_mlflow(
    uri: str, experiment: str, run_name: str | None, params: Mapping | None, summary: Mapping, artifacts: Sequence[Path]
) -> None:
    import math

    import mlflow

    client = mlflow.MlflowClient(uri)
    run = client.create_run(experiment_id(client, experiment, uri), run_name=run_name)
    for key, value in (params or {}).items():
        client.log_param(run.info.run_id, key, str(value)[:6000])
    for key, value in summary.items():
        if isinstance(value, (int, float)) and math.isfinite(float(value)):
            client.log_metric(run.info.run_id, key, float(value))
    if "best_baseline" in summary:
        client.set_tag(run.info.run_id, "best_baseline", summary["best_baseline"])
    for path in artifacts:
        client.log_artifact(run.info.run_id, str(path))
    client.set_terminated(run.info.run_id)

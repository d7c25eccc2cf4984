"""The fidelity report of a run: one HTML page with PNG figures beside it.

For a few images, the panels input / translation / uncertainty / error against the truth (each shown as a
grey-level image, the middle frame of a movie or stack, RGB kept); then the metric table, the steganography probe's
verdict and the checkpoint that model selection picked. The page has no script and no external resource: it opens
from the folder (or from the MLflow artifact view) as it is.
"""

from __future__ import annotations

import csv
import html
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common.io.atomic import atomic_path  # noqa: E402

__all__ = ["display_image", "item_panels", "panel_figure", "selection_note", "watch_trips", "write_report"]


def display_image(image) -> np.ndarray:
    """A channel-first image ``(C, *S)`` as something to show: ``(H, W, 3)`` for 3 channels, else ``(H, W)`` (mean
    over channels); the middle frame/slice of extra leading spatial axes."""
    x = np.asarray(image.detach().cpu().numpy() if hasattr(image, "detach") else image, dtype=np.float64)
    if x.ndim == 2:
        return x
    channels, x = x.shape[0], np.moveaxis(x, 0, -1)  # (*S, C)
    while x.ndim > 3:
        x = x[x.shape[0] // 2]
    return x if channels == 3 else x.mean(axis=-1)


def _scaled(x: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(x, [0.5, 99.5])
    return np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0, 1)


def panel_figure(panels: Mapping[str, np.ndarray | None], title: str, path: str | os.PathLike) -> Path:
    """One row of panels (name -> :func:`display_image` output; ``None``: an empty panel saying so). Panels named
    ``uncertainty`` or ``error`` are shown from zero in a heat map with a colour bar."""
    names = list(panels)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        image = panels[name]
        ax.set_title(name, fontsize=9)
        ax.axis("off")
        if image is None:
            ax.text(0.5, 0.5, "not available", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            continue
        heat = name.split()[0] in ("uncertainty", "error")
        if heat:
            shown = ax.imshow(image, cmap="magma", vmin=0, vmax=float(np.percentile(image, 99.5)) or 1.0)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
        elif image.ndim == 3:
            ax.imshow(_scaled(image))
        else:
            ax.imshow(_scaled(image), cmap="gray")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return Path(path)


def _validation_rows(checkpoint: str | os.PathLike) -> list[dict[str, str]] | None:
    log = Path(checkpoint).parent / "validation.csv"
    if not log.is_file():
        return None
    with open(log, newline="") as fh:
        return list(csv.DictReader(fh))


def watch_trips(checkpoint: str | os.PathLike | None) -> list[int]:
    """The iterations at which the steganography watch tripped, from the run's ``validation.csv`` beside
    ``checkpoint`` (empty without a log)."""
    rows = _validation_rows(checkpoint) if checkpoint is not None else None
    return [int(float(r["iteration"])) for r in rows or [] if r.get("val_hides_input") in ("1.0", "1")]


def selection_note(checkpoint: str | os.PathLike | None, what: str = "Evaluated checkpoint") -> str:
    """Which checkpoint was evaluated (``what`` names its role) and, from the run's ``validation.csv`` beside it,
    which validation model selection picked (the best ``val_psnr``, else the lowest ``val_selection``)."""
    if checkpoint is None:
        return "No checkpoint (translations given as files)."
    path = Path(checkpoint)
    note = f"{what}: {path.name} ({path.parent})."
    rows = _validation_rows(path)
    if rows is None:
        return note + " No validation log beside it."
    key = next((k for k in ("val_psnr", "val_selection") if rows and rows[0].get(k) not in (None, "")), None)
    if key is None:
        return note + " Its validation log has no selection metric."
    values = [(float(r[key]), int(float(r["iteration"]))) for r in rows if r.get(key) not in (None, "")]
    value, iteration = max(values) if key == "val_psnr" else min(values)
    hidden = watch_trips(path)
    text = f" Model selection picked iteration {iteration} ({key} {value:.4g}, {len(values)} validations)."
    if hidden:
        text += f" The steganography watch tripped during training at iteration(s) {hidden}."
    return note + text


def _cell(value) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    return html.escape(str(value))


def write_report(
    path: str | os.PathLike,
    title: str,
    figures: Sequence[str | os.PathLike],
    metrics: Mapping[str, object],
    notes: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> Path:
    """Write the HTML page: ``title``, ``warnings`` (highlighted), ``notes``, the figures (PNG files, referenced
    by name relative to the page: keep them in its folder), and the ``metrics`` table."""
    path = Path(path)
    rows = "\n".join(f"<tr><th>{html.escape(str(k))}</th><td>{_cell(v)}</td></tr>" for k, v in metrics.items())
    figs = "\n".join(
        f'<figure><img src="{html.escape(os.path.relpath(f, path.parent))}" alt="{html.escape(Path(f).stem)}"></figure>'
        for f in figures
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1400px}} img{{max-width:100%}}
.warning{{background:#fde2e1;border-left:6px solid #c0392b;padding:.5em 1em}}
table{{border-collapse:collapse}} th,td{{border:1px solid #ccc;padding:2px 8px;text-align:left}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
{"".join(f'<p class="warning">{html.escape(w)}</p>' for w in warnings)}
{"".join(f"<p>{html.escape(n)}</p>" for n in notes)}
<h2>Images</h2>
{figs or "<p>No images.</p>"}
<h2>Metrics (median over images)</h2>
<table>{rows}</table>
</body></html>
"""
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(page)
    return path


def item_panels(source, translation, truth=None, uncertainty=None) -> dict[str, np.ndarray | None]:
    """The four panels of one image: input, translation, uncertainty (``None``: not computed) and the absolute
    error of the translation (fitted to the truth by least squares, as the review scores) against the truth."""
    from common.metrics.review import fit_intensity

    panels: dict[str, np.ndarray | None] = {
        "input": display_image(source),
        "translation": display_image(translation),
        "uncertainty": None if uncertainty is None else np.abs(display_image(uncertainty)),
        "error against truth": None,
    }
    if truth is not None:
        t = np.asarray(truth.detach().cpu().numpy() if hasattr(truth, "detach") else truth, dtype=np.float64)
        p = np.asarray(translation.detach().cpu().numpy() if hasattr(translation, "detach") else translation)
        panels["error against truth"] = display_image(np.abs(fit_intensity(p.astype(np.float64), t) - t))
    return panels

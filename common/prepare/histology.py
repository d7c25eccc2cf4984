"""DeepLIIF: each file is a row of co-registered panels (IHC, hematoxylin, DAPI, Lap2, marker, segmentation)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from common.errors import InputDataError
from common.io.load import load_image
from common.prepare.download import fetch
from common.prepare.writer import LayoutWriter

__all__ = ["prepare_deepliif", "DEEPLIIF_PANELS"]

#: panel order of the DeepLIIF training and validation images
DEEPLIIF_PANELS = ("ihc", "hematoxylin", "dapi", "lap2", "marker", "segmentation")


def _panels(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    image = load_image(path, dtype=None).numpy()  # (C, Y, X)
    height, width = image.shape[1:]
    if width % height or width // height != len(names):
        raise InputDataError(path, f"a {width}x{height} image is not a row of {len(names)} square panels")
    return {n: image[:, :, k * height : (k + 1) * height] for k, n in enumerate(names)}


def prepare_deepliif(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    panel_a: str = "ihc",
    panel_b: str = "hematoxylin",
    panels: tuple[str, ...] = DEEPLIIF_PANELS,
    test_fraction: float = 0.2,
    work: str | os.PathLike | None = None,
) -> dict:
    """DeepLIIF tiles split into domains: ``panel_a`` of one half of the training tiles -> ``trainA`` and
    ``panel_b`` of the other half -> ``trainB`` (no tile in both); tiles in folders whose name holds ``val`` or
    ``test`` (``DeepLIIF_Validation_Set``, ``DeepLIIF_Testing_Set``; or the last
    ``test_fraction`` of the tiles when there are none) give ``testA``/``testB`` (paired), with the nucleus
    ``segmentation`` panel's nuclei, when present, as ``testB_labels`` (instance labels)."""
    for p in (panel_a, panel_b):
        if p not in panels:
            raise ValueError(f"panel must be one of {panels}, got {p!r}")
    root = fetch(source, work or Path(out).parent / (Path(out).name + "_download"))
    files = sorted(p for p in root.rglob("*.png") if p.is_file())
    held = [
        p for p in files if any(w in part.lower() for part in p.relative_to(root).parts[:-1] for w in ("val", "test"))
    ]
    train = [p for p in files if p not in held]
    if not held:
        n_test = max(1, int(round(len(train) * test_fraction)))
        train, held = train[:-n_test], train[-n_test:]
    if len(train) < 2:
        raise InputDataError(root, f"{len(train)} training tile(s): need at least 2 to split between domains")
    writer = LayoutWriter(out, "deepliif", {"panel_a": panel_a, "panel_b": panel_b})
    meta = {"spatial_axes": "YX"}
    for k, path in enumerate(train):
        split, panel = ("trainA", panel_a) if k % 2 == 0 else ("trainB", panel_b)
        writer.write(split, f"{path.stem}.png", _panels(path, panels)[panel], meta)
    for path in held:
        parts = _panels(path, panels)
        writer.write("testA", f"{path.stem}.png", parts[panel_a], meta)
        writer.write("testB", f"{path.stem}.png", parts[panel_b], meta)
        if "segmentation" in parts:
            writer.write("testB_labels", f"{path.stem}.tif", _nucleus_labels(parts["segmentation"]), meta)
    return writer.finish()


def _nucleus_labels(segmentation: np.ndarray) -> np.ndarray:
    """Instance labels of the nuclei drawn in DeepLIIF's segmentation panel (red: positive, blue: negative)."""
    from scipy import ndimage

    rgb = segmentation[:3] if segmentation.shape[0] >= 3 else np.repeat(segmentation, 3, axis=0)
    nuclei = (rgb[0] > 127) ^ (rgb[2] > 127)  # pure red or pure blue; boundaries and background excluded
    labels, _ = ndimage.label(nuclei)
    return labels[None].astype(np.uint16)

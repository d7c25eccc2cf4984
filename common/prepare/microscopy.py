"""Fluorescence microscopy sets: penicillium (low/high-SNR volume), CARE planaria, W2S fields, the CellProfiler
channels as an unmixing problem, and the in-silico-labeling transmitted-light/DAPI fields."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import tifffile

from common.errors import InputDataError
from common.io.load import load_image
from common.prepare.download import fetch
from common.prepare.writer import LayoutWriter

__all__ = [
    "prepare_cellprofiler_unmixing",
    "prepare_in_silico_labeling",
    "prepare_penicillium",
    "prepare_planaria",
    "prepare_w2s",
]


def _read_tiff(path: Path) -> np.ndarray:
    try:
        return tifffile.imread(path)
    except Exception as e:  # noqa: BLE001 (any reader failure is the file's problem)
        raise InputDataError(path, f"unreadable TIFF ({e})") from None


def _one(root: Path, pattern: str) -> Path:
    found = sorted(p for p in root.rglob("*") if p.is_file() and re.search(pattern, p.name, re.IGNORECASE))
    if len(found) != 1:
        raise InputDataError(root, f"expected one file matching {pattern!r}, found {len(found)}")
    return found[0]


def prepare_penicillium(
    source: str | os.PathLike,
    out: str | os.PathLike,
    low: str = r"low.*\.tiff?$",
    high: str = r"high.*\.tiff?$",
    test_fraction: float = 0.2,
    work: str | os.PathLike | None = None,
) -> dict:
    """The penicillium low/high-SNR ``Z Y X`` volume pair, split along X into non-overlapping parts: the first
    ``(1 - test_fraction) / 2`` of the width -> ``trainA`` (low SNR), the next as much -> ``trainB`` (high SNR), the
    last ``test_fraction`` -> ``testA``/``testB`` (paired)."""
    root = fetch(source, work or Path(out).parent / (Path(out).name + "_download"))
    low_path, high_path = _one(root, low), _one(root, high)
    vol_low, vol_high = _read_tiff(low_path), _read_tiff(high_path)
    if vol_low.shape != vol_high.shape or vol_low.ndim != 3:
        raise InputDataError(high_path, f"shape {vol_high.shape} must equal {low_path.name}'s {vol_low.shape} (ZYX)")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    width = vol_low.shape[2]
    test_start = int(round(width * (1 - test_fraction)))
    half = test_start // 2
    meta = {"spatial_axes": "ZYX"}
    writer = LayoutWriter(out, "penicillium", {"x_splits": [0, half, test_start, width]})
    writer.write("trainA", "penicillium.tif", vol_low[None, :, :, :half], meta)
    writer.write("trainB", "penicillium.tif", vol_high[None, :, :, half:test_start], meta)
    writer.write("testA", "penicillium.tif", vol_low[None, :, :, test_start:], meta)
    writer.write("testB", "penicillium.tif", vol_high[None, :, :, test_start:], meta)
    return writer.finish()


def prepare_planaria(
    source: str | os.PathLike,
    out: str | os.PathLike,
    condition: str = "condition_1",
    max_patches: int | None = None,
    seed: int = 0,
    work: str | os.PathLike | None = None,
) -> dict:
    """CARE ``Denoising_Planaria``: the training patches of ``train_data/data_label.npz`` (``X`` low, ``Y`` high
    SNR) are shuffled and split in halves, ``X`` of the first half -> ``trainA`` and ``Y`` of the second ->
    ``trainB`` (different positions: no pairs); ``test_data/<condition>/*.tif`` with ``test_data/GT/`` ->
    ``testA``/``testB``. Patches are written as ``Z Y X`` TIFF."""
    root = fetch(source, work or Path(out).parent / (Path(out).name + "_download"))
    npz = next(iter(sorted(root.rglob("data_label.npz"))), None)
    if npz is None:
        raise InputDataError(root, "train_data/data_label.npz not found")
    with np.load(npz) as data:
        if "X" not in data or "Y" not in data:
            raise InputDataError(npz, "needs arrays X and Y")
        x, y = data["X"], data["Y"]
    if x.shape != y.shape or x.ndim not in (4, 5):
        raise InputDataError(npz, f"X {x.shape} and Y {y.shape} must be equal (N, [C,] Z, Y, X)")
    if x.ndim == 5:
        x, y = x[:, 0], y[:, 0]
    order = np.random.default_rng(seed).permutation(len(x))
    if max_patches is not None:
        order = order[: int(max_patches)]
    half = len(order) // 2
    writer = LayoutWriter(out, "planaria", {"seed": seed, "patches": len(order), "condition": condition})
    meta = {"spatial_axes": "ZYX"}
    for i in order[:half]:
        writer.write("trainA", f"patch{i:05d}.tif", x[i][None].astype(np.float32), meta)
    for i in order[half:]:
        writer.write("trainB", f"patch{i:05d}.tif", y[i][None].astype(np.float32), meta)
    tests = next(iter(sorted(p for p in root.rglob(condition) if p.is_dir())), None)
    truth = next(iter(sorted(p for p in root.rglob("GT") if p.is_dir())), None)
    if tests is None or truth is None:
        raise InputDataError(root, f"test_data/{condition} and test_data/GT not found")
    for path in sorted(tests.glob("*.tif")):
        gt = truth / path.name
        if not gt.exists():
            raise InputDataError(path, f"no ground truth {gt.name} in {truth}")
        writer.copy("testA", path)
        writer.copy("testB", gt)
    return writer.finish()


def prepare_w2s(source: str | os.PathLike, out: str | os.PathLike, n_test: int = 4, n_val: int = 0) -> dict:
    """W2S widefield fields ``noisy/fieldNNN.tif`` and ``clean/fieldNNN.tif`` (``C Y X``): the last ``n_test``
    fields are the paired test set, the ``n_val`` before them the paired validation set (model selection); the
    others go in turn to ``trainA`` (noisy) and ``trainB`` (clean), so no field is in two splits or both domains.
    Each channel is written as its own 2D image."""
    root = Path(source)
    noisy = sorted((root / "noisy").glob("*.tif"))
    if not noisy:
        raise InputDataError(root / "noisy", "no TIFF fields")
    if n_test < 0 or n_val < 0:
        raise ValueError(f"n_test and n_val must be non-negative, got {n_test}, {n_val}")
    if len(noisy) <= n_test + n_val + 1:
        raise InputDataError(
            root / "noisy", f"{len(noisy)} fields are too few for {n_test} test and {n_val} validation fields"
        )
    writer = LayoutWriter(out, "w2s", {"n_test": n_test, "n_val": n_val, "fields": len(noisy)})
    for k, path in enumerate(noisy):
        clean = root / "clean" / path.name
        if not clean.exists():
            raise InputDataError(path, f"no clean field {clean.name}")
        a, b = _read_tiff(path), _read_tiff(clean)
        a, b = (v[None] if v.ndim == 2 else v for v in (a, b))
        if a.shape != b.shape:
            raise InputDataError(clean, f"shape {b.shape} differs from the noisy field's {a.shape}")
        held = "test" if k >= len(noisy) - n_test else "val" if k >= len(noisy) - n_test - n_val else None
        for c in range(a.shape[0]):
            name = f"{path.stem}_c{c}.tif"
            if held:
                writer.write(f"{held}A", name, a[c][None], {"spatial_axes": "YX"})
                writer.write(f"{held}B", name, b[c][None], {"spatial_axes": "YX"})
            elif k % 2 == 0:
                writer.write("trainA", name, a[c][None], {"spatial_axes": "YX"})
            else:
                writer.write("trainB", name, b[c][None], {"spatial_axes": "YX"})
    return writer.finish()


def prepare_cellprofiler_unmixing(
    source: str | os.PathLike,
    out: str | os.PathLike,
    marker_1: str = "dna.tif",
    marker_2: str = "ph3.tif",
    tile: int = 128,
    validation: bool = False,
) -> dict:
    """Two separately imaged markers of one field as an unmixing problem: domain A is their sum (one channel
    holding both), domain B the two channels. The field is cut into ``tile`` squares that go in turn to
    ``trainA``, ``trainB`` and the paired held-out set, so no tile is in both training domains; with
    ``validation`` the held-out tiles alternate between the test and the validation set (model selection)."""
    root = Path(source)
    one, two = (_read_tiff(root / m).astype(np.float32) for m in (marker_1, marker_2))
    if one.shape != two.shape or one.ndim != 2:
        raise InputDataError(root / marker_2, f"shape {two.shape} must equal {marker_1}'s {one.shape} (Y X)")
    rows, cols = one.shape[0] // tile, one.shape[1] // tile
    if rows * cols < 3:
        raise InputDataError(root / marker_1, f"an image of {one.shape} holds fewer than 3 tiles of {tile}")
    writer = LayoutWriter(out, "cellprofiler_unmixing", {"markers": [marker_1, marker_2], "tile": tile})
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        window = (slice(r * tile, (r + 1) * tile), slice(c * tile, (c + 1) * tile))
        mixture = (one[window] + two[window])[None]
        channels = np.stack([one[window], two[window]])
        name, meta = f"tile_r{r}_c{c}.tif", {"spatial_axes": "YX"}
        if k % 3 == 0:
            writer.write("trainA", name, mixture, meta)
        elif k % 3 == 1:
            writer.write("trainB", name, channels, meta)
        else:
            held = "val" if validation and (k // 3) % 2 == 1 else "test"
            writer.write(f"{held}A", name, mixture, meta)
            writer.write(f"{held}B", name, channels, meta)
    return writer.finish()


_CHANNEL = re.compile(r"channel[,_-]?value-([A-Za-z0-9_]+)|channel-([A-Za-z0-9_]+)")
_DEPTH = re.compile(r"z_depth-(\d+)")


_FIELD_KEYS = ("lab-", "condition-", "year-", "month-", "day-", "minute-", "well-", "tile_row-", "tile_column-")


def _isl_key(name: str) -> tuple[str, str | None, int]:
    """(field key, channel, depth) of an in-silico-labeling file name: the field is named by its lab, condition,
    date, well and tile tokens; channel and depth come from ``channel,value-X`` and ``z_depth-N``."""
    match = _CHANNEL.search(name)
    channel = (match.group(1) or match.group(2)) if match else None
    depth = _DEPTH.search(name)
    key = ",".join(t for t in name.split(",") if t.startswith(_FIELD_KEYS))
    return key, channel, int(depth.group(1)) if depth else 0


def prepare_in_silico_labeling(
    source: str | os.PathLike,
    out: str | os.PathLike,
    transmitted: str = "TRANSMITTED",
    label: str = "DAPI",
    n_test: int = 1,
    work: str | os.PathLike | None = None,
) -> dict:
    """In-silico labeling (Christiansen et al. 2018) PNG fields: files are grouped into fields by the lab,
    condition, date, well and tile tokens of their names; the transmitted-light z-stack (channel containing
    ``transmitted``; its middle focal plane) is domain A, the ``label`` channel (e.g. DAPI, Hoechst) domain B.
    The last ``n_test`` fields
    are the paired test set; in the others the left half of the field gives ``trainA`` and the right half
    ``trainB`` (spatially split: no pixel in both)."""
    root = fetch(source, work or Path(out).parent / (Path(out).name + "_download"))
    fields: dict[str, dict[str, dict[int, Path]]] = {}
    for path in sorted(root.rglob("*.png")):
        key, channel, depth = _isl_key(path.stem)
        if channel is not None:
            fields.setdefault(key, {}).setdefault(channel, {})[depth] = path
    usable = []
    for key, channels in sorted(fields.items()):
        a = next((v for c, v in channels.items() if transmitted.lower() in c.lower()), None)
        b = next((v for c, v in channels.items() if label.lower() in c.lower()), None)
        if a and b:
            usable.append((key, a, b))
    if len(usable) <= n_test:
        raise InputDataError(root, f"{len(usable)} field(s) with both {transmitted} and {label}; need > {n_test}")
    writer = LayoutWriter(out, "in_silico_labeling", {"transmitted": transmitted, "label": label})
    for k, (_, a, b) in enumerate(usable):
        depths = sorted(a)
        plane = load_image(a[depths[len(depths) // 2]], dtype=None)[0].numpy()  # the middle focal plane
        target = load_image(b[min(b)], dtype=None)[0].numpy()
        if plane.shape != target.shape:
            raise InputDataError(b[min(b)], f"shape {target.shape} differs from the transmitted image's {plane.shape}")
        name, meta = f"field{k:03d}.tif", {"spatial_axes": "YX"}
        if k >= len(usable) - n_test:
            writer.write("testA", name, plane[None], meta)
            writer.write("testB", name, target[None], meta)
            continue
        half = plane.shape[-1] // 2
        writer.write("trainA", name, plane[None, :, :half], meta)
        writer.write("trainB", name, target[None, :, half:], meta)
    return writer.finish()

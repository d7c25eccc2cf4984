"""MRI: IXI T2/PD (split by subject) and the SPM avg152 templates (split by slabs of slices)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np

from common.errors import InputDataError
from common.prepare.download import fetch
from common.prepare.writer import LayoutWriter

__all__ = ["prepare_ixi", "prepare_spm_templates", "prepare_templates_to_subject", "IXI_URLS"]

#: the IXI archives (no checksums are published)
IXI_URLS = {
    "T2": "http://biomedic.doc.ic.ac.uk/brain-development/downloads/IXI/IXI-T2.tar",
    "PD": "http://biomedic.doc.ic.ac.uk/brain-development/downloads/IXI/IXI-PD.tar",
}
_IXI_NAME = re.compile(r"^(IXI\d{3})-.+-(T2|PD)\.nii(\.gz)?$")


def _ixi_files(folder: Path) -> dict[str, dict[str, Path]]:
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.rglob("IXI*.nii*")):
        match = _IXI_NAME.match(path.name)
        if match:
            found.setdefault(match.group(1), {})[match.group(2)] = path
    return found


def prepare_ixi(
    source: str | os.PathLike | None,
    out: str | os.PathLike,
    n_train: int = 254,
    n_test: int = 64,
    seed: int = 0,
    work: str | os.PathLike | None = None,
) -> dict:
    """IXI T2 -> PD as in STABLE: subjects having both scans are shuffled (``seed``); ``n_train`` training subjects
    are split in halves, T2 of the first half to ``trainA`` and PD of the second to ``trainB`` (no subject, hence
    no pair, in both), and ``n_test`` held-out subjects give ``testA`` (T2) / ``testB`` (PD) under the same name.
    Volumes are copied whole; training samples slices at run time.

    Args:
        source: a folder holding (anywhere below it) ``IXI###-*-T2.nii.gz`` and ``-PD.nii.gz``, or the two tar
            archives' folder; ``None`` downloads both archives into ``work`` (resuming).
        n_train, n_test: subjects (fewer available: the same 254:64 proportions of those there are).
    """
    work = Path(work or Path(out).parent / (Path(out).name + "_download"))
    if source is None:
        folders = [fetch(url, work) for url in IXI_URLS.values()]
        files: dict[str, dict[str, Path]] = {}
        for folder in folders:
            for subject, scans in _ixi_files(folder).items():
                files.setdefault(subject, {}).update(scans)
    else:
        root = fetch(source, work)
        for archive in sorted(root.glob("IXI-*.tar")) if root.is_dir() else []:
            fetch(archive, work)
        files = _ixi_files(root)
        if (work / "extracted").exists():
            for subject, scans in _ixi_files(work / "extracted").items():
                files.setdefault(subject, {}).update(scans)
    subjects = sorted(s for s, scans in files.items() if {"T2", "PD"} <= set(scans))
    if len(subjects) < 3:
        raise InputDataError(source or work, f"found {len(subjects)} subject(s) with both T2 and PD; need at least 3")
    order = list(np.random.default_rng(seed).permutation(subjects))
    if len(order) < n_train + n_test:
        n_test = max(1, round(len(order) * n_test / (n_train + n_test)))
        n_train = len(order) - n_test
    train, test = order[:n_train], order[n_train : n_train + n_test]
    half = len(train) // 2
    writer = LayoutWriter(out, "ixi", {"seed": seed, "train_subjects": len(train), "test_subjects": len(test)})
    for subject in train[:half]:
        writer.copy("trainA", files[subject]["T2"], f"{subject}.nii.gz")
    for subject in train[half:]:
        writer.copy("trainB", files[subject]["PD"], f"{subject}.nii.gz")
    for subject in test:
        writer.copy("testA", files[subject]["T2"], f"{subject}.nii.gz")
        writer.copy("testB", files[subject]["PD"], f"{subject}.nii.gz")
    return writer.finish()


def _template_volumes(a: Path, b: Path, slab: int, margin: int, slabs: int) -> tuple:
    """Two co-registered template volumes as float32 arrays (with A's image for its affine), refused when their
    spaces differ or they hold too few slices for ``slabs`` slabs between the margins."""
    img_a, img_b = nib.load(a), nib.load(b)
    if img_a.shape != img_b.shape or not np.allclose(img_a.affine, img_b.affine):
        raise InputDataError(b, f"not in the space of {a.name} (shape or affine differ)")
    vol_a, vol_b = np.asarray(img_a.dataobj, np.float32), np.asarray(img_b.dataobj, np.float32)
    depth = vol_a.shape[2]
    if depth <= 2 * margin + slabs * slab:
        raise InputDataError(a, f"{depth} slices are too few for slabs of {slab} with margins of {margin}")
    return img_a, vol_a, vol_b


def _write_slabs(writer: LayoutWriter, img_a, vol_a, vol_b, slab: int, margin: int, held: Callable[[int], str]):
    """Axial slabs of ``slab`` slices in turn to ``trainA`` (A), ``trainB`` (B) and the held-out split
    ``held(k)`` names for the k-th slab (both contrasts, same name), each with its own affine."""
    depth = vol_a.shape[2]
    for k, start in enumerate(range(margin, depth - margin - slab + 1, slab)):
        affine = img_a.affine.copy()
        affine[:3, 3] = img_a.affine[:3, :3] @ np.array([0, 0, start]) + img_a.affine[:3, 3]
        meta = {"affine": affine, "original_affine": affine}
        name = f"slab{start:03d}.nii.gz"
        part_a, part_b = vol_a[None, :, :, start : start + slab], vol_b[None, :, :, start : start + slab]
        if k % 3 == 0:
            writer.write("trainA", name, part_a, meta)
        elif k % 3 == 1:
            writer.write("trainB", name, part_b, meta)
        else:
            writer.write(f"{held(k)}A", name, part_a, meta)
            writer.write(f"{held(k)}B", name, part_b, meta)


def prepare_spm_templates(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    contrast_a: str = "T2",
    contrast_b: str = "PD",
    slab: int = 5,
    margin: int = 10,
    validation: bool = False,
) -> dict:
    """One subject's co-registered volumes (SPM's ``avg152T2.nii`` / ``avg152PD.nii``) made unpaired by slices:
    axial slabs of ``slab`` slices (skipping ``margin`` empty slices at each end) go in turn to ``trainA`` (A
    contrast), ``trainB`` (B contrast) and the paired test set (both contrasts, same name), so no slice is in both
    training domains; with ``validation`` the held-out slabs alternate between the test and the validation set
    (model selection). Each slab is written as its own NIfTI volume with the correct affine."""
    root = Path(source)
    a, b = (next(iter(sorted(root.glob(f"*{c}.nii*"))), None) for c in (contrast_a, contrast_b))
    if a is None or b is None:
        raise InputDataError(root, f"needs *{contrast_a}.nii and *{contrast_b}.nii volumes")
    img_a, vol_a, vol_b = _template_volumes(a, b, slab, margin, slabs=3)
    writer = LayoutWriter(out, "spm_templates", {"slab": slab, "margin": margin, "a": a.name, "b": b.name})
    _write_slabs(writer, img_a, vol_a, vol_b, slab, margin, lambda k: "val" if validation and (k // 3) % 2 else "test")
    return writer.finish()


def _one(root: Path, contrast: str) -> Path:
    found = sorted(root.glob(f"*{contrast}.nii*"))
    if not found:
        raise InputDataError(root, f"needs a *{contrast}.nii or *{contrast}.nii.gz volume")
    return found[0]


def prepare_templates_to_subject(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    subject: str | os.PathLike,
    contrast_a: str = "T2",
    contrast_b: str = "PD",
    slab: int = 5,
    margin: int = 10,
) -> dict:
    """Trained on templates, tested on a real subject: the templates (``source``: SPM's ``avg152T2`` /
    ``avg152PD``) are split by slabs as in :func:`prepare_spm_templates`, with every held-out slab going to the
    validation split (model selection); the test pair is the ``subject``'s scans (e.g. IXI002's
    ``*-T2.nii.gz`` / ``*-PD.nii.gz``): its A scan whole as ``testA``, and its B scan resampled onto the A scan's
    grid through the two affines (trilinear; blurred along the B scan's thick axis) as ``testB``."""
    from nibabel.processing import resample_from_to

    root, person = Path(source), Path(subject)
    a, b = _one(root, contrast_a), _one(root, contrast_b)
    img_a, vol_a, vol_b = _template_volumes(a, b, slab, margin, slabs=2)
    subject_a, subject_b = _one(person, contrast_a), _one(person, contrast_b)
    scan_a, scan_b = nib.load(subject_a), nib.load(subject_b)
    if scan_a.ndim != 3 or scan_b.ndim != 3:
        raise InputDataError(subject_a, "the subject's scans must be 3D volumes")
    settings = {"slab": slab, "margin": margin, "templates": [a.name, b.name]}
    settings |= {"subject": [subject_a.name, subject_b.name], "reference": "B resampled onto A's grid (trilinear)"}
    writer = LayoutWriter(out, "templates_to_subject", settings)
    _write_slabs(writer, img_a, vol_a, vol_b, slab, margin, lambda k: "val")
    reference = resample_from_to(scan_b, scan_a, order=1)
    meta = {"affine": scan_a.affine, "original_affine": scan_a.affine}
    name = subject_a.name.split(".nii")[0] + ".nii.gz"
    writer.write("testA", name, np.asarray(scan_a.dataobj, np.float32)[None], meta)
    writer.write("testB", name, np.asarray(reference.dataobj, np.float32)[None], meta)
    return writer.finish()

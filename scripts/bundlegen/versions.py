"""Each bundle's version and changelog (semantic versioning: a minor version per change of defaults or outputs, a
patch version for fixes that change neither), and the guard that a changed config comes with a new version.

``RELEASED`` (``released.json`` beside this module) holds, per bundle, the version the committed configs were written
with and a digest of those configs; ``make_bundles.py write`` refuses to write changed configs under an unchanged
version, and ``make_bundles.py check`` fails on them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

RELEASED = Path(__file__).with_name("released.json")

#: what every bundle gained together, by version
_SHARED = {
    "0.1.0": "first version: the default method, every other method by --method, phantoms built in",
    "0.2.0": "configs built from _target_ components with the model zoo's ids; multi-GPU overlay; MONAI Label ids",
    "0.3.0": "inference --uncertainty (mean and spread over 8 flips); training watch (steganography probe, object "
    "counts) and fidelity report; polarity hinge and identity warm-up add-ons for every method",
    "0.4.0": "evaluate.json scores the no-network baselines (input, histogram match, blur for denoising) beside the "
    "model, with the artefact score and the margin over the best baseline",
    "0.6.0": "inference warns when inputs' intensities are unlike those the shipped model was trained on; model "
    "files and TIFF headers that cannot be used end in one line",
    "0.8.0": "scale_range setting: random rescaling of the training frames before the patch is cut",
}

#: each bundle's own changes of defaults, by version (sorted in among the shared ones)
_OWN = {
    "calcium": {
        "0.3.1": "STABLE with the reference's 3-level networks, He's gain on its demodulated filters, inputs clipped "
        "to the 0 / 99th percentiles as the reference",
        "0.3.2": "structure anchor: the polarity hinge with a margin of 0.6",
    },
    "denoising": {
        "0.3.1": "STABLE with the reference's 3-level networks and He's gain on its demodulated filters",
        "0.3.2": "STABLE's denoising loss weights (no cycle term); replicated padding; structure anchor margin 0.9",
        "0.3.3": "STABLE at 6e-4 with the generator's moving average (ema_decay 0.99)",
        "0.5.0": "self-supervised fidelity (Neighbor2Neighbor, lambda_selfsup 100) in place of the identity pull; "
        "128-px training patches",
        "0.7.0": "STABLE's adversarial terms at a tenth of the paper's weight (lambda_adv 0.1)",
    },
    "mri_t2_pd": {
        "0.3.1": "STABLE with the reference's 3-level networks, He's gain, and residual generators",
        "0.9.0": "training frames rescaled by a random factor in 0.5-2 (scale_range), for scans of other voxel sizes",
    },
    "if_unmixing": {
        "0.3.1": "structure anchor margin 0.9 and the mixture pull (warmup_mixture) for every method",
        "0.3.2": "one percentile scale for both target channels (normalization_b channel_wise false)",
        "0.3.3": "the generator's moving average (ema_decay 0.99)",
    },
    "ihc_he_translation": {
        "0.3.1": "--uncertainty uses the learned error head where the model file has one (uncertainty_source auto)",
    },
}


#: one change in every bundle's configs that alters neither defaults nor outputs, released at each bundle's next
#: patch version
_SPEC = (
    "the model description is one component (common.methods.ModelSpec) read by inference and evaluation; "
    "translate_files and evaluate take it with grouped options (tiling, outputs, scoring, reports, tracking); "
    "lr_decay setting (null: the method's own schedule)"
)
#: the bundles whose versions moved together since 0.8 (mri_t2_pd runs one minor version ahead)
_IN_STEP = (
    "calcium", "denoising", "if_unmixing", "ihc_he_translation", "mask_to_nuclei", "phase_to_dapi",
    "virtual_he_staining",
)  # fmt: skip
_SELECTION = (
    "train.json wires model selection as one component (common.engines.Selection, SelectionEvaluator) and its "
    "handlers from settings (keep_snapshots, the error-head trainer, the output folder); the multi-GPU overlay "
    "picks each rank's handlers by type (common.engines.rank_handlers); same training behaviour"
)
for _patch, _mri, _line in (("0.8.1", "0.9.1", _SPEC), ("0.8.2", "0.9.2", _SELECTION)):
    for _name in _IN_STEP:
        _OWN.setdefault(_name, {})[_patch] = _line
    _OWN["mri_t2_pd"][_mri] = _line


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def changelog(name: str) -> dict[str, str]:
    """A bundle's changelog, newest first (``metadata.json``'s ``changelog``)."""
    own = _OWN.get(name, {})
    entries = _SHARED | own | {v: f"{_SHARED[v]}; {own[v]}" for v in _SHARED.keys() & own.keys()}
    return {v: entries[v] for v in sorted(entries, key=_key, reverse=True)}


def version(name: str) -> str:
    """A bundle's current version: the newest in its changelog."""
    return next(iter(changelog(name)))


def config_digest(files: dict[str, str]) -> str:
    """The digest of a bundle's generated configs (``configs/*.json`` but the metadata, which holds the version)."""
    text = json.dumps({k: v for k, v in sorted(files.items()) if k.startswith("configs/") and "metadata" not in k})
    return hashlib.sha256(text.encode()).hexdigest()


def unbumped(name: str, files: dict[str, str], released: dict | None = None) -> str | None:
    """Why ``files`` may not be written under the bundle's current version (its configs changed since the version
    was released and the version did not), or None."""
    released = json.loads(RELEASED.read_text()) if released is None and RELEASED.exists() else (released or {})
    last = released.get(name)
    if last and last["version"] == version(name) and last["sha256"] != config_digest(files):
        return (
            f"bundles/{name}: its configs changed but its version is still {last['version']}: add a version with one "
            "changelog line to scripts/bundlegen/versions.py"
        )
    return None


def release_entry(name: str, files: dict[str, str]) -> dict[str, str]:
    """What ``released.json`` records for a bundle written with ``files``."""
    return {"version": version(name), "sha256": config_digest(files)}

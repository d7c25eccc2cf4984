"""The ``metadata.json`` of a bundle (MONAI's meta schema)."""

from __future__ import annotations

import re
from pathlib import Path

from bundlegen.tasks import REFERENCES
from bundlegen.versions import changelog, version

#: the checkout this generator belongs to
ROOT = Path(__file__).resolve().parents[2]


#: the Python package every bundle's configs need (name and version from pyproject.toml)
PACKAGE = {
    key: re.search(rf'^{key} = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    for key in ("name", "version")
}


def metadata(name: str, task: dict) -> dict:
    channels_a, channels_b = task["channels"]
    norm_a, norm_b = task["normalization"]

    def fmt(channels: int, what: str, norm: dict) -> dict:
        return {
            "type": "image",
            "format": "magnitude",
            "modality": task["modality"],
            "num_channels": channels,
            "spatial_shape": ["16*n", "16*n"],
            "dtype": "float32",
            "value_range": [0, 1],
            "is_patch_data": True,
            "channel_def": {str(i): f"{what} (channel {i}, {norm['mode']}-normalised)" for i in range(channels)},
        }

    return {
        "schema": "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json",
        "version": version(name),
        "changelog": changelog(name),
        "monai_version": "1.6.1",
        "pytorch_version": "2.13.0",
        "numpy_version": "2.0",
        "required_packages_version": {
            # this project's component library (common/), installed by `pip install -e .` at the project root
            PACKAGE["name"]: PACKAGE["version"],
            "pytorch-ignite": "0.5.5",
            "tifffile": "2026.3.3",
            "mlflow": "3.17.2",
            "nibabel": "5.4.2",
        },
        "supported_apps": {},
        "name": task["title"],
        "task": f"Unpaired image-to-image translation: {task['a']} -> {task['b']}",
        "description": f"{task['title']}. Translates {task['a']} into {task['b']} without paired training data; "
        f"default method {task['method']} ({task['paper']}); CycleGAN, Ui2i, STABLE, CUT, FastCUT and UTOM by "
        "--method. "
        "Built-in phantom data with ground truth; see docs/README.md.",
        "authors": "Unpaired biomedical image-to-image translation project",
        "copyright": "Copyright (c) the project authors",
        "data_source": f"Built-in phantoms (common.phantoms.{name}) by default; see docs/README.md for real data sets",
        "data_type": task["data_type"],
        "image_classes": f"A: {task['a']}; B: {task['b']}",
        "eval_metrics": {
            "val_psnr": "PSNR against aligned ground truth (phantoms)",
            "val_ssim": "SSIM against aligned ground truth (phantoms)",
        },
        "intended_use": "Research only; not for diagnostic use",
        "references": [REFERENCES[k] for k in dict.fromkeys([*task["references"], "cyclegan"])],
        "network_data_format": {
            "inputs": {"image": fmt(channels_a, task["a"], norm_a)},
            "outputs": {"pred": fmt(channels_b, task["b"], norm_b)},
        },
    }

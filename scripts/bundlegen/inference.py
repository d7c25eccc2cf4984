"""The ``inference.json`` and ``evaluate.json`` of a bundle."""

from __future__ import annotations

from bundlegen.tasks import BUNDLE_ROOT, POLARITY, addons, hyperparameters
from common.evaluation.trivial import default_baselines

#: the ids of train.json that describe the model (what its model.json holds), repeated in inference and evaluation
SPEC_IDS = (
    "method",
    "spatial_dims",
    "channels_a",
    "channels_b",
    "channel_mix_a",
    "hyperparameters",
    "addons",
    "normalization_a",
    "normalization_b",
    "axes_a",
    "patch_size",
)


def inference_config(name: str, task: dict, train: dict) -> dict:
    keep = SPEC_IDS
    config = {
        "imports": [
            "$import os",
            "$import torch",
            "$import common",
        ],
        "task": name,
        "bundle_root": BUNDLE_ROOT,
        "dataset_dir": "$os.path.join(@bundle_root, 'output', 'phantoms', 'testA')",
        "output_dir": "$os.path.join(@bundle_root, 'output', 'translated')",
        "checkpoint": "$os.path.join(@bundle_root, 'models', 'model.pt')",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
    }
    config |= {k: train[k] for k in keep}
    config |= {
        "hyperparameters": hyperparameters(task, run_relative=False),
        "addons": addons(name, task, run_relative=False),
    }
    config |= {
        # what a checkpoint without its model.json is taken to be (a model.pt of this project carries its spec)
        "default_spec": {k: f"@{k}" for k in keep if k != "hyperparameters"}
        | {"hyperparameters": "$common.methods.resolve_hyperparameters(@method, @hyperparameters.get(@method))"},
        "spec": "$common.methods.ModelSpec.load(@checkpoint, @default_spec)",
        "network_def": "$@spec.build_generator()",
        "network": {
            "_target_": "common.engines.load_model_weights",
            "network": "@network_def",
            "path": "@checkpoint",
            "device": "@device",
        },
        "batch_size": 8,
        "tile_size": None,
        "sw_batch_size": 4,
        "overlap": 0.5,
        # the three steps of the translation (image -> pred), run by "run" and read by MONAI Label and Deploy
        "preprocessing": {
            "_target_": "common.inference.preprocessing",
            "spec": "@spec",
        },
        "inferer": {
            "_target_": "common.inference.FrameInferer",
            "spatial_dims": "$@spec.spatial_dims",
            "roi_size": "@tile_size",
            "sw_batch_size": "@sw_batch_size",
            "overlap": "@overlap",
            "batch_size": "@batch_size",
        },
        "postprocessing": {"_target_": "common.inference.postprocessing", "spec": "@spec"},
        "output_dtype": task["output_dtype"],
        "overwrite": False,
        # --uncertainty true writes a per-pixel uncertainty map under output_dir/uncertainty; uncertainty_source
        # spread: the translation is the mean over test-time flips/rotations (and the last checkpoints), the map
        # their standard deviation; error_head: the plain translation and the learned error head's expected error
        # (model files of runs trained with error_head); auto: the head where the model file has one
        "uncertainty": False,
        "uncertainty_source": task.get("uncertainty_source", "spread"),
        "uncertainty_checkpoints": 1,
        "uncertainty_augment": True,
        "translator": {
            "_target_": "common.inference.uncertainty_translator",
            "network": "@network",
            "spec": "@spec",
            "checkpoint": "@checkpoint",
            "source": "@uncertainty_source",
            "checkpoints": "@uncertainty_checkpoints",
            "augment": "@uncertainty_augment",
            "device": "@device",
            "enabled": "@uncertainty",
        },
        # every file of dataset_dir through preprocessing, inferer and postprocessing into output_dir (inputs
        # checked first; the spec's normalisation, axes and channels also serve files streamed page by page)
        "translate": {
            "_target_": "common.inference.translate_files",
            "_mode_": "callable",
            "network": "@translator",
            "inputs": "@dataset_dir",
            "output_dir": "@output_dir",
            "spec": "@spec",
            "steps": ["@preprocessing", "@inferer", "@postprocessing"],
            "outputs": {
                "_target_": "common.inference.Outputs",
                "dtype": "@output_dtype",
                "overwrite": "@overwrite",
            },
            "device": "@device",
        },
        "run": ["$@translate()"],
        "initialize": ["$common.errors.install_cli_error_hook()"],
        "finalize": [],
    }
    return config


def evaluate_config(name: str, task: dict, inference: dict) -> dict:
    keep = (*SPEC_IDS, "default_spec")
    segment = task["segment"]
    config = {
        "imports": [
            "$import os",
            "$import torch",
            "$import common",
        ],
        "task": name,
        "bundle_root": BUNDLE_ROOT,
        "dataset_dir": "$os.path.join(@bundle_root, 'output', 'phantoms')",
        "output_dir": "$os.path.join(@bundle_root, 'output', 'evaluation')",
        "checkpoint": "$os.path.join(@bundle_root, 'models', 'model.pt')",
        "predictions_dir": None,
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
    }
    config |= {k: inference[k] for k in keep}
    config |= {
        "spec": "$common.methods.ModelSpec.load(@checkpoint, @default_spec)",
        "network_def": "$@spec.build_generator()",
        "network": {
            "_target_": "common.engines.load_model_weights",
            "_disabled_": "$bool(@predictions_dir)",
            "network": "@network_def",
            "path": "@checkpoint",
            "device": "@device",
        },
        # the full training checkpoint (both generators) for the steganography probe: by default the latest one
        # of the run that wrote @checkpoint (none beside a bundle's models/model.pt: no probe)
        "training_checkpoint": None,
        "probe_method": {
            "_target_": "common.engines.run_method",
            "spec": "@spec",
            "model_file": "@checkpoint",
            "checkpoint": "@training_checkpoint",
        },
        # the uncertainty of the report, as inference's uncertainty_source: the spread (the translation is then
        # the mean over the 8 test-time flips/rotations and the last uncertainty_checkpoints snapshots) or the
        # learned error head (the plain translation); --uncertainty false: the plain network
        "uncertainty": True,
        "uncertainty_source": inference["uncertainty_source"],
        "uncertainty_checkpoints": 1,
        # inference's translator with flips always on (the report's uncertainty)
        "translator": {k: v for k, v in inference["translator"].items() if k != "augment"},
        "cellpose_model": None,
        "segmenter_settings": segment,
        "segmenter": {
            "_target_": "common.segmentation.task_segmenter",
            "settings": "@segmenter_settings",
            "cellpose_model": "@cellpose_model",
        },
        "tracking_uri": {"_target_": "common.engines.default_tracking_uri", "bundle_root": "@bundle_root"},
        "run_name": "$'evaluate-' + @spec.method + '-' + os.path.basename(os.path.abspath(@output_dir))",
        "params": {
            "task": "@task",
            "method": "$@spec.method",
            "checkpoint": "@checkpoint",
            "predictions_dir": "@predictions_dir",
            "dataset_dir": "@dataset_dir",
            "segmenter": "$getattr(@segmenter, 'name', None)",
            "stage": "evaluation",
        },
        "overwrite": False,
        # what a user can do without a network, evaluated beside the translation (rows and MLflow runs of their own)
        "baselines": default_baselines(POLARITY[name], denoising=name == "denoising"),
        "headline": "psnr",
        # translate D/testA (or read predictions_dir), score against D/testB, write the tables, figures and report
        "evaluation": {
            "_target_": "common.evaluation.evaluate",
            "_mode_": "callable",
            "dataset_dir": "@dataset_dir",
            "output_dir": "@output_dir",
            "network": "@translator",
            "spec": "@spec",
            "predictions_dir": "@predictions_dir",
            "scoring": {
                "_target_": "common.evaluation.Scoring",
                "segmenter": "@segmenter",
                "baselines": "@baselines",
                "headline": "@headline",
                "probe_method": "@probe_method",
            },
            "reports": {
                "_target_": "common.evaluation.Reports",
                "checkpoint": "@checkpoint",
                "overwrite": "@overwrite",
            },
            "tracking": {
                "_target_": "common.evaluation.RunTracking",
                "uri": "@tracking_uri",
                "experiment_name": "@task",
                "run_name": "@run_name",
                "params": "@params",
            },
            "device": "@device",
        },
        "run": ["$@evaluation()"],
        "initialize": ["$common.errors.install_cli_error_hook()"],
        "finalize": [],
    }
    return config

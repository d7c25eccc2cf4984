"""The ``train.json`` of a bundle (MONAI bundle components with standard ids) and its ``multi_gpu_train.json``
overlay.
"""

from __future__ import annotations

from bundlegen.tasks import BUNDLE_ROOT, addons, hyperparameters

#: top-level settings of ``train.json`` that share a line (by topic), so that the file reads at a glance
SETTING_ROWS = (
    ("dataset_dir", "phantom_size"),
    ("seed", "method", "max_iterations", "stop_after", "batch_size", "num_workers"),
    ("epoch_length", "val_interval", "checkpoint_interval", "sample_interval", "keep_snapshots"),
    ("learning_rates", "learning_rate", "amp", "amp_dtype", "compile", "ema_decay", "grad_clip"),
    ("spatial_dims", "channels_a", "channels_b", "channel_mix_a", "axes_a", "axes_b"),
    ("patch_size", "val_size", "scale_range", "segmenter_settings"),
    ("optimizer_g", "optimizer_d"),
)


def train_config(name: str, task: dict) -> dict:
    channels_a, channels_b = task["channels"]
    axes_a, axes_b = task["axes"]
    norm_a, norm_b = task["normalization"]
    patch = [task["patch"], task["patch"]]
    return {
        "imports": [
            "$import os",
            "$import torch",
            "$import monai",
            "$import common",
        ],
        "task": name,
        "bundle_root": BUNDLE_ROOT,
        "output_dir": "$os.path.join(@bundle_root, 'output')",
        "dataset_dir": None,
        "phantom_size": task["phantom_size"],
        "data_root": {
            "_target_": "common.phantoms.dataset_or_phantoms",
            "dataset_dir": "@dataset_dir",
            "task": "@task",
            "output_dir": "@output_dir",
            "n_train": 8,
            "n_test": 2,
            "size": "@phantom_size",
            "seed": "@seed",
        },
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "seed": 0,
        "method": task["method"],
        "max_iterations": task.get("max_iterations", 2000),
        "stop_after": None,
        "batch_size": 1,
        "num_workers": 0,
        "epoch_length": 100,
        "val_interval": 250,
        "checkpoint_interval": 250,
        "sample_interval": 250,
        "keep_snapshots": False,
        # per-method learning rates where a task measured one better than the method's paper value; learning_rate
        # (None: the method's own) is what the optimisers get, and a command-line value overrides both
        "learning_rates": task.get("learning_rates", {}),
        "learning_rate": "$@learning_rates.get(@method)",
        "amp": False,
        "amp_dtype": "bfloat16",
        "compile": False,
        "ema_decay": task.get("ema_decay"),
        "grad_clip": None,
        # linear decay to 0 over the second half of the run: true / false, or null for the method's own schedule
        "lr_decay": task.get("lr_decay"),
        "lr_decay_start": "$@method_def.lr_decay_start(@max_iterations, @lr_decay)",
        "spatial_dims": 2,
        "channels_a": channels_a,
        "channels_b": channels_b,
        "channel_mix_a": None,
        "axes_a": axes_a,
        "axes_b": axes_b,
        "patch_size": patch,
        "val_size": patch,
        # random rescaling of the training frames (low, high), so that a model meets other pixel sizes; None: off
        "scale_range": task.get("scale_range"),
        # the classical segmenter's settings for the object-count watch at validation (None: no objects)
        "segmenter_settings": task["segment"],
        "normalization_a": norm_a,
        "normalization_b": norm_b,
        "hyperparameters": hyperparameters(task),
        "addons": addons(name, task),
        # the network's input channels: those of A, or the count after channel_mix_a
        "in_channels": {
            "_target_": "common.data.input_channels",
            "channels": "@channels_a",
            "channel_mix": "@channel_mix_a",
        },
        "method_def": {
            "_target_": "common.methods.make_method",
            "name": "@method",
            "spatial_dims": "@spatial_dims",
            "channels_a": "@in_channels",
            "channels_b": "@channels_b",
            "hyperparameters": "$@hyperparameters.get(@method)",
            "addons": "@addons",
        },
        "network_def": "$@method_def.generator_ab",
        "network": "$@network_def.to(@device)",
        # the EMA of the generator (None unless ema_decay is set) and the copy validation, selection and the
        # model savers use: the EMA when there is one
        "ema": {"_target_": "common.engines.generator_ema", "generator": "@network", "decay": "@ema_decay"},
        "deployable_network": {"_target_": "common.engines.deployable_network", "generator": "@network", "ema": "@ema"},
        # generators' and discriminators' optimisers with the method's paper settings (learning_rate overrides)
        "optimizers": "$@method_def.make_optimizers(lr=@learning_rate)",
        "optimizer_g": "$@optimizers[0]",
        "optimizer_d": "$@optimizers[1]",
        **{
            f"lr_scheduler_{k}": {
                "_target_": "torch.optim.lr_scheduler.LambdaLR",
                "optimizer": f"@optimizer_{k}",
                "lr_lambda": {
                    "_target_": "common.ops.LinearDecay",
                    "total": "@max_iterations",
                    "decay_start": "@lr_decay_start",
                },
            }
            for k in ("g", "d")
        },
        # a small U-Net trained beside the generators to predict the forward generator's per-pixel error from the
        # B -> A -> B cycle's (inference's uncertainty_source error_head); off for methods without a cycle. The
        # error it learns is the one left after a gain and offset fit, as review scores measure it (IHC Ui2i, 4
        # seeds: Spearman 0.52 against 0.48 raw, no seed under 0.49 against one at 0.12); it reads the translation
        # beside the input (IHC Ui2i, 4 seeds, maps averaged over the flips: ratio 2.12 against 1.99 without)
        "error_head": task.get("error_head", True),
        # the uncertainty of the final report's panels, as inference's uncertainty_source (the head where it is taken)
        "uncertainty_source": task.get("uncertainty_source", "spread"),
        "error_head_trainer": {
            "_target_": "common.engines.ErrorHeadTrainer",
            "method": "@method_def",
            "enabled": "@error_head",
            "learning_rate": 0.001,
            "calibrated": True,
            "conditioned": True,
            "ema_decay": None,
        },
        "checkpoint_dir": "$os.path.join(@output_dir, 'checkpoints')",
        "resume_from": {"_target_": "common.engines.latest_checkpoint", "folder": "@checkpoint_dir"},
        "tracking_uri": {"_target_": "common.engines.default_tracking_uri", "bundle_root": "@bundle_root"},
        "experiment_name": "@task",
        "run_name": "$@method + '-' + os.path.basename(os.path.abspath(@output_dir))",
        "model_spec": {
            "_target_": "common.methods.ModelSpec.from_config",
            "task": "@task",
            "method": "@method",
            "spatial_dims": "@spatial_dims",
            "channels_a": "@in_channels",
            "channels_b": "@channels_b",
            "hyperparameters": "$@hyperparameters.get(@method)",
            "addons": "@addons",
            "normalization_a": "@normalization_a",
            "normalization_b": "@normalization_b",
            "axes_a": "@axes_a",
            "channel_mix_a": "@channel_mix_a",
            "patch_size": "@patch_size",
        },
        "tracking_params": {
            "task": "@task",
            "method": "@method",
            "addons": "@addons",
            "patch_size": "@patch_size",
            "scale_range": "@scale_range",
            "batch_size": "@batch_size",
            "seed": "@seed",
            "max_iterations": "@max_iterations",
            "learning_rate": "$@optimizer_g.param_groups[0]['lr']",
            "lr_decay_start": "@lr_decay_start",
            "amp": "$common.as_bool(@amp, 'amp')",
            "ema_decay": "$common.as_optional(@ema_decay)",
            "grad_clip": "$common.as_optional(@grad_clip)",
            "data_root": "@data_root",
            "normalization_a": "@normalization_a",
            "normalization_b": "@normalization_b",
            "channel_mix_a": "@channel_mix_a",
            "output_dir": "@output_dir",
        },
        "train": {
            "dataset": {
                "_target_": "common.data.make_unpaired_dataset",
                "dataset_dir": "@data_root",
                "patch_size": "@patch_size",
                "spatial_dims": "@spatial_dims",
                "channels_a": "@channels_a",
                "channels_b": "@channels_b",
                "normalization_a": "@normalization_a",
                "normalization_b": "@normalization_b",
                "axes_a": "@axes_a",
                "axes_b": "@axes_b",
                "channel_mix_a": "@channel_mix_a",
                "scale_range": "@scale_range",
                "length": "$@max_iterations * @batch_size",
                "seed": "@seed",
            },
            "sampler": {"_target_": "common.data.StreamSampler", "length": "$@max_iterations * @batch_size"},
            "dataloader": {
                "_target_": "DataLoader",
                "dataset": "@train#dataset",
                "batch_size": "@batch_size",
                "sampler": "@train#sampler",
                "num_workers": "@num_workers",
            },
            "handlers": [
                {
                    "_target_": "LrScheduleHandler",
                    "lr_scheduler": "@lr_scheduler_g",
                    "epoch_level": False,
                    "print_lr": False,
                },
                {
                    "_target_": "LrScheduleHandler",
                    "lr_scheduler": "@lr_scheduler_d",
                    "epoch_level": False,
                    "print_lr": False,
                },
                {
                    "_target_": "ValidationHandler",
                    "validator": "@validate#evaluator",
                    "interval": "@val_interval",
                    "epoch_level": False,
                },
                {
                    "_target_": "common.engines.ValidationLogger",
                    "path": "$os.path.join(@output_dir, 'validation.csv')",
                    "evaluator": "@validate#evaluator",
                    "snapshots": "@keep_snapshots",
                },
                {
                    "_target_": "common.engines.SampleGridSaver",
                    "output_dir": "@output_dir",
                    "method": "@method_def",
                    "samples": "@validate#items",
                    "interval": "@sample_interval",
                },
                "@error_head_trainer",
                {
                    "_target_": "common.engines.ModelSaver",
                    "path": "$os.path.join(@output_dir, 'model.pt')",
                    "interval": "@checkpoint_interval",
                    "spec": "@model_spec",
                    "extras": "@error_head_trainer",
                },
                {"_target_": "common.engines.LossLogger", "path": "$os.path.join(@output_dir, 'losses.csv')"},
                {
                    "_target_": "common.engines.TrainingReport",
                    "output_dir": "@output_dir",
                    "evaluator": "@validate#evaluator",
                    "items": "@validate#items",
                    "ground_truth": "@validate#selection",
                    "watch": "@validate#watch",
                    "spatial_dims": "@spatial_dims",
                    "error_head": "@error_head_trainer",
                    "uncertainty_source": "@uncertainty_source",
                },
                {
                    "_target_": "common.engines.RunLogger",
                    "params": "@tracking_params",
                    "method": "@method_def",
                    "output_dir": "@output_dir",
                },
                {"_target_": "ignite.handlers.ProgressBar", "persist": True},
            ],
            "trainer": {
                "_target_": "common.engines.UnpairedTrainer",
                "device": "@device",
                "max_iterations": "@max_iterations",
                "train_data_loader": "@train#dataloader",
                "method": "@method_def",
                "optimizer_g": "@optimizer_g",
                "optimizer_d": "@optimizer_d",
                "epoch_length": "@epoch_length",
                "sampler": "@train#sampler",
                "batch_size": "@batch_size",
                "amp": "@amp",
                "amp_dtype": "@amp_dtype",
                "compile": "@compile",
                "ema": "@ema",
                "grad_clip": "@grad_clip",
                "stop_after": "@stop_after",
                "train_handlers": "@train#handlers",
            },
        },
        "validate": {
            "items": {
                "_target_": "common.engines.validation_items",
                "dataset_dir": "@data_root",
                "spatial_dims": "@spatial_dims",
                "size": "@val_size",
                "normalization_a": "@normalization_a",
                "normalization_b": "@normalization_b",
                "channel_mix_a": "@channel_mix_a",
            },
            "selection": {
                "_target_": "common.engines.Selection",
                "dataset_dir": "@data_root",
                "method": "@method_def",
                "generator": "@deployable_network",
                "spatial_dims": "@spatial_dims",
                "size": "@val_size",
                "normalization_b": "@normalization_b",
                "channels_b": "@channels_b",
                "polarity": "@addons#polarity",
            },
            "dataloader": {
                "_target_": "DataLoader",
                "dataset": {"_target_": "Dataset", "data": "@validate#items"},
                "batch_size": 4,
                "shuffle": False,
                "num_workers": 0,
            },
            "inferer": {"_target_": "SimpleInferer"},
            "watch": {
                "_target_": "common.engines.TranslationWatch",
                "method": "@method_def",
                "generator": "@deployable_network",
                "items": "@validate#items",
                "spatial_dims": "@spatial_dims",
                "segmenter": "@segmenter_settings",
            },
            "handlers": [
                "@validate#watch",
                {"_target_": "StatsHandler", "iteration_log": False},
                {
                    "_target_": "common.engines.ModelSaver",
                    "path": "$os.path.join(@output_dir, 'best_model.pt')",
                    "network": "@deployable_network",
                    "spec": "@model_spec",
                    "best": True,
                    "extras": "@error_head_trainer",
                },
            ],
            "evaluator": {
                "_target_": "common.engines.SelectionEvaluator",
                "device": "@device",
                "val_data_loader": "@validate#dataloader",
                "selection": "@validate#selection",
                "inferer": "@validate#inferer",
                "val_handlers": "@validate#handlers",
            },
        },
        "checkpoint_dict": {
            "method": "@method_def",
            "optimizer_g": "@optimizer_g",
            "optimizer_d": "@optimizer_d",
            "scheduler_g": "@lr_scheduler_g",
            "scheduler_d": "@lr_scheduler_d",
            "trainer": "@train#trainer",
            "error_head": "@error_head_trainer",
            "rng": {"_target_": "common.engines.RNGState"},
        },
        # the error head may be missing from checkpoints of runs begun before it was trained: it then starts afresh
        "checkpoint_loader": {
            "_target_": "common.engines.ResumeLoader",
            "optional": ["error_head"],
            "load_path": "@resume_from",
            "load_dict": "@checkpoint_dict",
            "map_location": "@device",
            "strict": True,
        },
        "checkpoint_saver": {
            "_target_": "common.engines.AtomicCheckpointSaver",
            "save_dir": "@checkpoint_dir",
            "save_dict": "@checkpoint_dict",
            "save_interval": "@checkpoint_interval",
            "n_saved": 2,
            "save_final": True,
        },
        "initialize": [
            "$common.errors.install_cli_error_hook()",
            "$monai.utils.set_determinism(seed=@seed)",
            "$@checkpoint_saver.attach(@train#trainer)",
            "$@checkpoint_loader.attach(@train#trainer)",
        ],
        "run": ["$@train#trainer.run()"],
        "training": ["$@train#trainer.run()"],
        "finalize": [],
    }


def multi_gpu_config(train: dict) -> dict:
    """The ``torchrun`` overlay of ``train.json`` (MONAI's ``multi_gpu_train.json`` convention): process group in
    ``initialize``, device from ``LOCAL_RANK``, a disjoint share of the data stream per rank, each network in its own
    DDP, and rank-0-only handlers (validation, samples, model files, loss log, MLflow, progress, checkpoints)."""
    # every rank steps the two LR schedulers, validates its share of the validation set (MONAI's metrics gather
    # across ranks) and writes its rank report; the handlers that write the run's files run on rank 0 only
    # (common.engines.rank_handlers)
    return {
        "imports": [*train["imports"], "$import torch.distributed as dist"],
        "device": "$torch.device(f'cuda:{os.environ[\"LOCAL_RANK\"]}' if torch.cuda.is_available() else 'cpu')",
        # each rank draws its share of one stream of max_iterations * batch_size * world_size samples
        "train#dataset#length": "$@max_iterations * @batch_size * dist.get_world_size()",
        "train#sampler#num_replicas": "$dist.get_world_size()",
        "train#sampler#rank": "$dist.get_rank()",
        "train#trainer#distributed": True,
        "validate#sampler": {
            "_target_": "monai.data.DistributedSampler",
            "dataset": "@validate#dataloader#dataset",
            "even_divisible": False,
            "shuffle": False,
        },
        "validate#dataloader#sampler": "@validate#sampler",
        "validate#evaluator#val_handlers": {
            "_target_": "common.engines.rank_handlers",
            "handlers": "@validate#handlers",
        },
        "rank_report": {
            "_target_": "common.engines.RankReport",
            "directory": "$os.path.join(@output_dir, 'ranks')",
            "method": "@method_def",
        },
        "train#trainer#train_handlers": {
            "_target_": "common.engines.rank_handlers",
            "handlers": "@train#handlers",
            "first": ["@rank_report"],
        },
        "initialize": [
            "$common.errors.install_cli_error_hook()",
            "$common.distributed.init_distributed()",
            "$monai.utils.set_determinism(seed=@seed + dist.get_rank())",
            "$@checkpoint_saver.attach(@train#trainer) if dist.get_rank() == 0 else None",
            "$@checkpoint_loader.attach(@train#trainer)",
        ],
        "finalize": ["$common.distributed.cleanup_distributed()"],
    }

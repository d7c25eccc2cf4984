"""The unpaired training engine (an Ignite/MONAI trainer), checkpoints, validation, samples and MLflow logging."""

from common.engines.checkpoint_loader import ResumeLoader
from common.engines.checkpoint_saver import AtomicCheckpointSaver
from common.engines.checkpoints import (
    ModelSaver,
    RNGState,
    deployable_state_dict,
    latest_checkpoint,
    load_method,
    load_model_weights,
    run_method,
)
from common.engines.ddp import distribute_method, distributed_units
from common.engines.ema import GeneratorEMA, deployable_network, generator_ema
from common.engines.environment import environment_info
from common.engines.error_head_trainer import ERROR_HEAD_LOSS, ErrorHeadTrainer
from common.engines.loss_log import LossLogger, read_loss_log
from common.engines.mlflow_logging import (
    RunLogger,
    active_mlflow_run,
    default_tracking_uri,
    experiment_id,
    flatten_params,
)
from common.engines.rank_handlers import EVERY_RANK, rank_handlers
from common.engines.rank_report import RankReport, parameter_digest
from common.engines.samples import SampleGridSaver, to_display
from common.engines.selection import Selection, SelectionEvaluator
from common.engines.training_report import TrainingReport, report_files
from common.engines.translation_watch import TranslationWatch
from common.engines.unpaired_trainer import NonFiniteLossError, UnpairedTrainer
from common.engines.validation import (
    ImageMean,
    SelectionNetwork,
    has_ground_truth,
    reference_images,
    validation_items,
    validation_metrics,
    validation_network,
    validation_source,
)
from common.engines.validation_log import ValidationLogger, read_validation_log

__all__ = [
    "EVERY_RANK",
    "rank_handlers",
    "default_tracking_uri",
    "experiment_id",
    "AtomicCheckpointSaver",
    "ERROR_HEAD_LOSS",
    "ErrorHeadTrainer",
    "GeneratorEMA",
    "ImageMean",
    "LossLogger",
    "ModelSaver",
    "NonFiniteLossError",
    "RNGState",
    "RankReport",
    "ResumeLoader",
    "RunLogger",
    "SampleGridSaver",
    "Selection",
    "SelectionEvaluator",
    "SelectionNetwork",
    "UnpairedTrainer",
    "TrainingReport",
    "TranslationWatch",
    "ValidationLogger",
    "active_mlflow_run",
    "deployable_network",
    "deployable_state_dict",
    "distribute_method",
    "distributed_units",
    "environment_info",
    "flatten_params",
    "generator_ema",
    "has_ground_truth",
    "latest_checkpoint",
    "load_method",
    "load_model_weights",
    "parameter_digest",
    "read_loss_log",
    "report_files",
    "run_method",
    "read_validation_log",
    "reference_images",
    "to_display",
    "validation_items",
    "validation_metrics",
    "validation_network",
    "validation_source",
]

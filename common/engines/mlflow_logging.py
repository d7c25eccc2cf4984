"""MLflow companions of MONAI's ``MLFlowHandler``.

``--tracking mlflow`` attaches MONAI's handler, which opens the run and logs what the trainer outputs (every loss
term and both learning rates, see :class:`~common.engines.unpaired_trainer.UnpairedTrainer`). The
:class:`RunLogger` here adds, into that same run, the parameters (method, loss weights, patch size, seed, data
paths...), the final model and anything else given; sample grids are logged by ``SampleGridSaver``. Without
tracking they do nothing.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ignite.engine import Engine, Events
from monai.handlers import MLFlowHandler

from common.engines.environment import environment_info
from common.engines.training_report import report_files
from common.tracking import experiment_id

__all__ = ["active_mlflow_run", "default_tracking_uri", "experiment_id", "RunLogger", "flatten_params"]


def default_tracking_uri(bundle_root: str | os.PathLike) -> str:
    """The MLflow store a bundle's ``--tracking mlflow`` writes to unless ``--tracking_uri`` says otherwise.

    In order: the ``MLFLOW_TRACKING_URI`` environment variable (MLflow's own convention); for a bundle inside this
    project's checkout (``bundles/<task>`` beside ``mlflow/MLproject``), the project's ``mlflow/mlruns.db``, where
    every task's and method's runs compare side by side; for a bundle copied anywhere else, ``mlruns.db`` in the
    bundle's own folder (never the folder of the installed package).

    Args:
        bundle_root: the bundle folder (the configs' ``bundle_root``).

    Returns:
        A ``sqlite:///`` URI with an absolute path, or the environment's URI as it is.
    """
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if env:
        return env
    bundle = Path(bundle_root).resolve()
    project = bundle.parent.parent
    if bundle.parent.name == "bundles" and (project / "mlflow" / "MLproject").is_file():
        return "sqlite:///" + str(project / "mlflow" / "mlruns.db")
    return "sqlite:///" + str(bundle / "mlruns.db")


def active_mlflow_run(engine: Engine):
    """``(client, run_id)`` of the MLflow run a ``MLFlowHandler`` attached to ``engine`` has open, else None."""
    for handlers in engine._event_handlers.values():
        for handler, _, _ in handlers:
            owner = getattr(handler, "__self__", None)
            if isinstance(owner, MLFlowHandler) and owner.cur_run is not None:
                return owner.client, owner.cur_run.info.run_id
    return None


def flatten_params(params: Mapping, prefix: str = "") -> dict[str, str]:
    """Nested mapping -> ``{"a.b": "value"}`` with values as strings (MLflow params)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_params(value, f"{name}."))
        else:
            out[name] = str(value)[:6000]
    return out


class RunLogger:
    """Log parameters once the run is open, and files as artifacts when training completes.

    Args:
        params: parameters to record (nested mappings are flattened with dots).
        method: the method trained: its ``hyperparameters()`` and the machine's
            :func:`~common.engines.environment_info` join ``params`` (as ``hyperparameters.*``, ``environment.*``).
        output_dir: a training run's folder: its ``model.pt``, its report's files
            (:func:`~common.engines.report_files`) and its newest ``config_*.json`` join the artifacts.
        artifacts: files logged at completion (missing ones are skipped).
        newest_of: glob patterns of which the newest match is logged at completion. The bundles pass
            ``OUTPUT/config_*.json``: the merged config MONAI writes when tracking is on (MONAI 1.6 builds the path
            it hands its own handler by string concatenation, which breaks for a plain ``--output_dir``).
    """

    def __init__(
        self,
        params: Mapping | None = None,
        method=None,
        output_dir: str | os.PathLike | None = None,
        artifacts: Sequence[str | os.PathLike] = (),
        newest_of: Sequence[str] = (),
    ):
        params = dict(params or {})
        if method is not None:
            params |= {"hyperparameters": method.hyperparameters(), "environment": environment_info()}
        self.params = flatten_params(params)
        self.artifacts = [os.fspath(a) for a in artifacts]
        self.newest_of = list(newest_of)
        if output_dir is not None:
            self.artifacts += [os.path.join(output_dir, "model.pt"), *report_files(output_dir)]
            self.newest_of.append(os.path.join(output_dir, "config_*.json"))
        self._logged = False

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.log_params)
        engine.add_event_handler(Events.COMPLETED, self.log_artifacts)

    def log_params(self, engine: Engine) -> None:
        if self._logged:
            return
        run = active_mlflow_run(engine)
        if run is None:
            return
        client, run_id = run
        existing = client.get_run(run_id).data.params
        for key, value in self.params.items():
            if key not in existing:  # a resumed run keeps what it recorded
                client.log_param(run_id, key, value)
        self._logged = True

    def log_artifacts(self, engine: Engine) -> None:
        run = active_mlflow_run(engine)
        if run is None:
            return
        self.log_params(engine)
        client, run_id = run
        newest = [max(matches, key=os.path.getmtime) for p in self.newest_of if (matches := glob.glob(p))]
        for path in self.artifacts + newest:
            if os.path.isfile(path):
                client.log_artifact(run_id, path)

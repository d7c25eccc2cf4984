"""MLflow experiments shared by training (``common.engines``) and evaluation (``common.evaluation``)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["experiment_id"]


def experiment_id(client, name: str, tracking_uri: str) -> str:
    """Id of the MLflow experiment ``name``, created where missing. A SQLite store's artifacts go to ``mlruns/``
    beside its database: MLflow's default (``./mlruns``) is relative to the working directory, so every folder a
    command ran in would collect artifacts."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if tracking_uri.startswith("sqlite:///"):
        location = (Path(tracking_uri[len("sqlite:///") :]).resolve().parent / "mlruns").as_uri()
    return client.create_experiment(name, artifact_location=location)

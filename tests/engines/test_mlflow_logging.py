"""Where ``--tracking mlflow`` writes when ``--tracking_uri`` is not given."""

from pathlib import Path

from common.engines import default_tracking_uri

ROOT = Path(__file__).resolve().parents[2]


def test_a_bundle_of_the_checkout_tracks_into_the_projects_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = default_tracking_uri(ROOT / "bundles" / "calcium")
    assert uri == "sqlite:///" + str(ROOT / "mlflow" / "mlruns.db")


def test_a_copied_bundle_tracks_into_its_own_folder_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    copy = tmp_path / "bundles" / "calcium"  # a folder named bundles, but no project beside it
    copy.mkdir(parents=True)
    assert default_tracking_uri(copy) == "sqlite:///" + str(copy.resolve() / "mlruns.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////data/runs.db")
    assert default_tracking_uri(copy) == "sqlite:////data/runs.db"
    assert default_tracking_uri(ROOT / "bundles" / "calcium") == "sqlite:////data/runs.db"

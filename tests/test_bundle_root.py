"""find_bundle_root: a bundle's configs locate their own folder."""

from pathlib import Path

import pytest

from common import PROJECT_ROOT, find_bundle_root


def _bundle(root):
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "metadata.json").write_text("{}")
    (root / "configs" / "train.json").write_text("{}")
    return root


@pytest.mark.parametrize(
    "form",
    [
        lambda c: ["--config_file", c],
        lambda c: [f"--config_file={c}"],
        lambda c: ["--config_file", f"['{c}']"],
        lambda c: ["--config_file", f"{c},other.json"],
    ],
)
def test_the_command_lines_config_file_names_the_bundle(tmp_path, form):
    bundle = _bundle(tmp_path / "copy" / "calcium")
    argv = ["monai.bundle", "run", "training", *form(str(bundle / "configs" / "train.json")), "--seed", "1"]
    assert find_bundle_root("calcium", argv=argv, cwd=tmp_path) == str(bundle.resolve())


def test_the_working_directory_when_it_is_a_bundle(tmp_path):
    bundle = _bundle(tmp_path / "b")
    # a config file outside any bundle folder does not count; the working directory does
    argv = ["x", "--config_file", str(tmp_path / "loose.json")]
    assert find_bundle_root("calcium", argv=argv, cwd=bundle) == str(bundle.resolve())


def test_the_projects_bundle_as_last_resort_and_a_clear_error_without_one(tmp_path):
    assert find_bundle_root("calcium", argv=[], cwd=tmp_path) == str(Path(PROJECT_ROOT) / "bundles" / "calcium")
    with pytest.raises(ValueError, match="--bundle_root"):
        find_bundle_root("no_such_task", argv=[], cwd=tmp_path)

"""The fidelity report: one HTML page with its PNG panels, opened in a real headless browser."""

import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from common.evaluation.report import display_image, item_panels, panel_figure, selection_note, write_report

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _report(folder, rng):
    source = rng.random((1, 40, 48))
    truth = np.clip(source + 0.1 * rng.standard_normal(source.shape), 0, 1)
    panels = item_panels(source, 2 * truth + 1, truth, uncertainty=np.abs(rng.standard_normal(source.shape)))
    figure = panel_figure(panels, "image_000.tif", folder / "report_0.png")
    return write_report(
        folder / "report.html", "Fidelity report: test", [figure], {"psnr": 21.5, "ssim": 0.6},
        notes=["Evaluated checkpoint: model.pt"], warnings=["the cycle decodes a hidden copy <of its input>"],
    )  # fmt: skip


def test_panels_show_every_layout_and_the_error_is_after_an_intensity_fit(rng):
    assert display_image(np.zeros((3, 5, 6))).shape == (5, 6, 3)  # RGB kept
    assert display_image(np.zeros((2, 7, 5, 6))).shape == (5, 6)  # channels averaged, middle frame
    truth = rng.random((1, 8, 8))
    panels = item_panels(truth, 3 * truth - 1, truth)  # a rescaled exact translation has no error
    assert np.abs(panels["error against truth"]).max() < 1e-9 and panels["uncertainty"] is None


def test_page_is_self_contained_and_escapes_text(tmp_path, rng):
    page = _report(tmp_path, rng).read_text()
    assert '<img src="report_0.png"' in page and "http" not in page.replace('lang="en"', "")
    assert "&lt;of its input&gt;" in page and "<script" not in page


def test_selection_note_reads_the_validation_log(tmp_path):
    (tmp_path / "validation.csv").write_text(
        "iteration,val_psnr,val_hides_input\n100,20.0,0.0\n200,23.5,1.0\n300,22.0,0.0\n"
    )
    note = selection_note(tmp_path / "best_model.pt")
    assert "picked iteration 200 (val_psnr 23.5, 3 validations)" in note and "tripped" in note and "[200]" in note
    assert "No validation log" in selection_note(tmp_path / "elsewhere" / "model.pt")


def _screenshot(page, png):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={png.parent / 'profile'}", "--window-size=1200,900", f"--screenshot={png}"]  # fmt: skip
    subprocess.run([BROWSER, *flags, page.as_uri()], check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(png).convert("RGB"), dtype=np.float64)


@pytest.mark.skipif(BROWSER is None and not os.environ.get("REQUIRE_BROWSER"), reason="no Chromium on this machine")
def test_report_renders_its_images_in_a_headless_browser(tmp_path, rng):
    """The page with its figure against the same page whose figure file is gone: a browser that renders the PNG
    shows the panels (dark heat maps, grey images), the other only the text."""
    assert BROWSER is not None, "REQUIRE_BROWSER is set but no Chromium was found"
    (tmp_path / "full").mkdir()
    page = _report(tmp_path / "full", rng)
    shutil.copytree(tmp_path / "full", tmp_path / "broken")
    (tmp_path / "broken" / "report_0.png").unlink()
    full = _screenshot(page, tmp_path / "full.png")
    broken = _screenshot(tmp_path / "broken" / "report.html", tmp_path / "broken.png")
    dark = (full.mean(axis=-1) < 100).mean()
    assert dark > 0.02, f"only {dark:.3%} of the rendered page is image-dark"
    assert (broken.mean(axis=-1) < 100).mean() < dark / 4
    warning_red = np.all(np.abs(full - [253, 226, 225]) < 6, axis=-1).mean()
    assert warning_red > 0.001  # the highlighted warning is drawn

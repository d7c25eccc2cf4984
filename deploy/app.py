"""MONAI Deploy application: translate a folder of images (NIfTI, TIFF, PNG), or a DICOM series, with a trained
bundle of this project.

    python deploy/app.py -i INPUT -o OUTPUT -m BUNDLE_DIR [--dicom]

``-i``/``-o``/``-m`` are the App SDK's standard arguments (also ``HOLOSCAN_INPUT_PATH``, ``HOLOSCAN_OUTPUT_PATH``,
``HOLOSCAN_MODEL_PATH``); ``-m`` names the bundle folder (``configs/``, ``models/model.pt``). Without ``--dicom``
every image in INPUT is translated as the bundle's ``inference.json`` does (same name, type and geometry). With
``--dicom`` INPUT holds a DICOM study: the SDK's loader, series selector and volume operators make one volume,
which is translated slice by slice and written as ``OUTPUT/<SeriesInstanceUID>.nii.gz`` with the series' affine
(the first series of modality MR, the MRI bundle's input).

Needs the optional install ``pip install -c constraints.txt -e '.[deploy]'`` (MONAI Deploy App SDK, pydicom,
highdicom); package it with the ``holoscan`` CLI (``holoscan package``; see deploy/README.md).
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path

from monai.deploy.conditions import CountCondition
from monai.deploy.core import Application, Fragment, Operator, OperatorSpec

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the project's package, when run from a checkout
    sys.path.insert(0, str(ROOT))

from common.inference import translate_with_bundle, volume_to_nifti  # noqa: E402

LOG = logging.getLogger("translation_app")


class TranslateFolderOperator(Operator):
    """Translate every image of a folder with the bundle (runs once)."""

    def __init__(self, fragment: Fragment, *args, input_path: Path, output_path: Path, bundle: Path, **kwargs):
        self.input_path, self.output_path, self.bundle = Path(input_path), Path(output_path), Path(bundle)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        pass

    def compute(self, op_input, op_output, context) -> None:
        written = translate_with_bundle(self.bundle, str(self.input_path), self.output_path)
        LOG.info("translated %d file(s) into %s", len(written), self.output_path)


class TranslateVolumeOperator(Operator):
    """Translate the volume of a DICOM series (from ``DICOMSeriesToVolumeOperator``) into a NIfTI file."""

    def __init__(self, fragment: Fragment, *args, output_path: Path, bundle: Path, **kwargs):
        self.output_path, self.bundle = Path(output_path), Path(bundle)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("image")

    def compute(self, op_input, op_output, context) -> None:
        image = op_input.receive("image")
        meta = image.metadata()
        name = str(meta.get("series_instance_uid") or meta.get("SeriesInstanceUID") or "series")
        with tempfile.TemporaryDirectory() as scratch:
            source = volume_to_nifti(image.asnumpy(), meta["affine"], Path(scratch) / f"{name}.nii.gz")
            written = translate_with_bundle(self.bundle, [str(source)], self.output_path)
        LOG.info("translated series %s into %s", name, written[0])


class TranslationApp(Application):
    """Loads a bundle of this project and translates the input folder (or DICOM study) into the output folder."""

    def __init__(self, *args, dicom: bool = False, modality: str = "MR", **kwargs):
        self.dicom, self.modality = dicom, modality
        super().__init__(*args, **kwargs)

    def compose(self) -> None:
        context = Application.init_app_context(self.argv)
        input_path, output_path = Path(context.input_path), Path(context.output_path)
        bundle = Path(context.model_path)
        if not self.dicom:
            self.add_operator(
                TranslateFolderOperator(
                    self,
                    CountCondition(self, 1),
                    input_path=input_path,
                    output_path=output_path,
                    bundle=bundle,
                    name="translate_folder",
                )
            )
            return
        from monai.deploy.operators.dicom_data_loader_operator import DICOMDataLoaderOperator
        from monai.deploy.operators.dicom_series_selector_operator import DICOMSeriesSelectorOperator
        from monai.deploy.operators.dicom_series_to_volume_operator import DICOMSeriesToVolumeOperator

        loader = DICOMDataLoaderOperator(self, CountCondition(self, 1), input_folder=input_path, name="dicom_loader")
        selection = {"name": self.modality, "conditions": {"Modality": f"(?i){self.modality}"}}
        rules = json.dumps({"selections": [selection]})
        selector = DICOMSeriesSelectorOperator(self, rules=rules, name="series_selector")
        to_volume = DICOMSeriesToVolumeOperator(self, name="series_to_volume")
        translate = TranslateVolumeOperator(self, output_path=output_path, bundle=bundle, name="translate_volume")
        self.add_flow(loader, selector, {("dicom_study_list", "dicom_study_list")})
        self.add_flow(selector, to_volume, {("study_selected_series_list", "study_selected_series_list")})
        self.add_flow(to_volume, translate, {("image", "image")})


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    dicom = "--dicom" in argv
    argv = [a for a in argv if a != "--dicom"]
    logging.basicConfig(level=logging.INFO)
    sys.argv = argv
    TranslationApp(dicom=dicom).run()


if __name__ == "__main__":
    main()

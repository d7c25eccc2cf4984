"""Preparation of public data sets (and of a user's own folders) into the ``trainA/trainB/testA/testB`` layout,
split the way the papers did: by subject, by spatial half, by field. ``scripts/prepare_data.py`` is the command."""

from common.prepare.download import download, extract, fetch
from common.prepare.folders import prepare_folders
from common.prepare.histology import prepare_deepliif
from common.prepare.microscopy import (
    prepare_cellprofiler_unmixing,
    prepare_in_silico_labeling,
    prepare_penicillium,
    prepare_planaria,
    prepare_w2s,
)
from common.prepare.mri import prepare_ixi, prepare_spm_templates, prepare_templates_to_subject
from common.prepare.published import prepare_stable_release
from common.prepare.writer import LayoutWriter

DATASETS = {
    "ixi": prepare_ixi,
    "penicillium": prepare_penicillium,
    "planaria": prepare_planaria,
    "stable_calcium": prepare_stable_release,
    "stable_virtual_he": prepare_stable_release,
    "in_silico_labeling": prepare_in_silico_labeling,
    "deepliif": prepare_deepliif,
    "folders": prepare_folders,
    "w2s": prepare_w2s,
    "spm_templates": prepare_spm_templates,
    "templates_to_subject": prepare_templates_to_subject,
    "cellprofiler_unmixing": prepare_cellprofiler_unmixing,
}

__all__ = [
    "DATASETS",
    "LayoutWriter",
    "download",
    "extract",
    "fetch",
    "prepare_cellprofiler_unmixing",
    "prepare_deepliif",
    "prepare_folders",
    "prepare_in_silico_labeling",
    "prepare_ixi",
    "prepare_penicillium",
    "prepare_planaria",
    "prepare_spm_templates",
    "prepare_templates_to_subject",
    "prepare_stable_release",
    "prepare_w2s",
]

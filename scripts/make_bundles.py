"""Write every task bundle (configs, metadata, docs, licence) from one template and a table of tasks.

Usage::

    python scripts/make_bundles.py write      # (re)write bundles/<task>/ for every task
    python scripts/make_bundles.py check      # exit 1 if a committed bundle file differs from what would be written

The bundles share one structure (MONAI bundle ids: ``bundle_root``, ``dataset_dir``, ``output_dir``, ``device``,
``network_def``, ``network``, ``train#trainer``, ``train#handlers``, ``validate#evaluator``, ``initialize`` /
``run`` / ``finalize``) and differ in the task table below. Each method's hyper-parameters are its constructor's
defaults (the papers' values) with the task's overrides, so the configs list them all. Trained-weight files are
never written here.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path

import fire

from common import PROJECT_ROOT
from common.methods import METHODS, method_defaults

ROOT = Path(PROJECT_ROOT)
#: the Python package every bundle's configs need (name and version from pyproject.toml)
PACKAGE = {
    key: re.search(rf'^{key} = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    for key in ("name", "version")
}

#: the authors' README recipe (their calcium settings), which denoised W2S by 7-8 dB at 1,530 CPU iterations where
#: the paper's 4-level batch-norm networks (run with the authors' code) scored below the input (BENCHMARKS.md)
STABLE_3_LEVELS = {"n_info": 8, "channels": [8, 16, 32], "norm": None}
#: the paper's 4-level networks; instance norm in place of its batch norm: at batch 1 batch norm normalises each
#: image by itself in training and by running statistics in inference, which changed the output (11.5 against
#: 14.9 dB on denoising phantoms); instance norm does the former in both
STABLE_4_LEVELS = {"n_info": 3, "channels": [32, 64, 128, 256], "norm": "instance"}
PCT = {"mode": "percentile", "lower": 0.1, "upper": 99.9, "b_min": 0.0, "b_max": 1.0, "clip": False}
RGB = {"mode": "range", "a_min": 0.0, "a_max": 255.0, "b_min": 0.0, "b_max": 1.0, "clip": True}

TASKS: dict[str, dict] = {
    "calcium": {
        "segment": {},
        "title": "Calcium imaging translation (cytosolic to nuclear GCaMP)",
        "a": "cytosolic GCaMP fluorescence",
        "b": "nuclear-localised GCaMP fluorescence",
        "modality": "fluorescence microscopy",
        "data_type": "tiff",
        "channels": (1, 1),
        "axes": ("TYX", "TYX"),
        "method": "stable",
        # as the reference: 0 / 99th percentile, clipped to [0, 1]
        "normalization": (PCT | {"lower": 0.0, "upper": 99.0, "clip": True},) * 2,
        "patch": 256,
        "phantom_size": 256,
        "overrides": {"stable": STABLE_3_LEVELS},
        "output_dtype": "float32",
        "paper": "STABLE (You et al., Cell Reports Methods 2025), calcium experiment",
    },
    "if_unmixing": {
        "segment": {"channel": 0},
        "title": "Immunofluorescence signal unmixing (one channel, two markers -> two channels)",
        "a": "one immunofluorescence channel holding a nuclear and a membrane marker",
        "b": "the two markers in separate channels (0 nuclear, 1 membrane)",
        "modality": "fluorescence microscopy",
        "data_type": "tiff",
        "channels": (1, 2),
        "axes": (None, None),
        "method": "ui2i",
        "normalization": (PCT, PCT),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {},
        "output_dtype": "float32",
        "paper": "Ui2i (NeurIPS 2025), IF unmixing experiment",
    },
    "denoising": {
        "segment": {},
        "title": "Fluorescence denoising (low SNR -> high SNR)",
        "a": "low-SNR fluorescence (2D images or z-stacks)",
        "b": "high-SNR fluorescence of the same kind of sample",
        "modality": "fluorescence microscopy",
        "data_type": "tiff",
        "channels": (1, 1),
        "axes": (None, None),
        "method": "stable",
        "normalization": (PCT, PCT),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {"stable": STABLE_3_LEVELS},
        "output_dtype": "float32",
        "paper": "STABLE, denoising experiments (penicillium, planaria)",
    },
    "ihc_he_translation": {
        "segment": {"invert": True},
        "title": "IHC (hematoxylin + DAB) to H&E translation",
        "a": "brightfield IHC tile (hematoxylin + DAB), 8-bit RGB",
        "b": "brightfield H&E tile, 8-bit RGB",
        "modality": "brightfield histology",
        "data_type": "png",
        "channels": (3, 3),
        "axes": (None, None),
        "method": "ui2i",
        "normalization": (RGB, RGB),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {},
        "output_dtype": "uint8",
        "paper": "Ui2i (NeurIPS 2025), IHC -> H&E for nucleus segmentation",
    },
    "mri_t2_pd": {
        "segment": None,
        "title": "MRI modality transfer (T2-weighted -> PD-weighted)",
        "a": "T2-weighted MRI volume",
        "b": "PD-weighted MRI volume",
        "modality": "MR",
        "data_type": "nibabel",
        "channels": (1, 1),
        "axes": (None, None),
        "method": "stable",
        "normalization": (PCT, PCT),
        "patch": 128,
        "phantom_size": 128,
        "overrides": {"stable": STABLE_3_LEVELS},
        "output_dtype": "float32",
        "paper": "STABLE, MRI modality transfer (IXI T2 -> PD)",
    },
    "virtual_he_staining": {
        "segment": {"invert": True},
        "title": "Virtual H&E staining of fluorescence images",
        "a": "two-channel fluorescence (nuclear stain, autofluorescence / eosin-like)",
        "b": "brightfield H&E, 8-bit RGB",
        "modality": "fluorescence microscopy -> brightfield histology",
        "data_type": "tiff",
        "channels": (2, 3),
        "axes": (None, None),
        "method": "cyclegan",
        "normalization": (PCT, RGB),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {"stable": STABLE_4_LEVELS},
        "output_dtype": "uint8",
        "paper": "CycleGAN light-sheet virtual H&E (seed 002); STABLE virtual staining as the recommended alternative",
    },
    "phase_to_dapi": {
        "segment": {},
        "title": "Label-free to nuclear stain (DIC / phase / brightfield -> DAPI)",
        "a": "label-free transmitted-light image (DIC, phase or brightfield)",
        "b": "nuclear stain fluorescence (DAPI / Hoechst)",
        "modality": "light microscopy",
        "data_type": "tiff",
        "channels": (1, 1),
        "axes": (None, None),
        "method": "stable",
        "normalization": (PCT | {"upper": 99.0}, PCT | {"upper": 99.0}),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {"stable": STABLE_4_LEVELS | {"n_info": 8}},
        "output_dtype": "float32",
        "paper": "STABLE, virtual DAPI labelling (in-silico labelling data)",
    },
    "mask_to_nuclei": {
        "segment": {},
        "title": "Nucleus masks to synthetic microscopy (training data for segmenters)",
        "a": "nucleus instance or binary mask (any label image; foreground > 0)",
        "b": "fluorescence image of nuclei",
        "modality": "fluorescence microscopy",
        "data_type": "tiff",
        "channels": (1, 1),
        "axes": (None, None),
        "method": "cyclegan",
        "normalization": (
            {"mode": "range", "a_min": 0.0, "a_max": 1.0, "b_min": 0.0, "b_max": 1.0, "clip": True},
            PCT,
        ),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {},
        "addons": {"dct_cutoff": 0.5},
        "output_dtype": "float32",
        "paper": "CycleGAN with a DCT low-pass filter against steganography (seed 004)",
    },
}

DOCS_EXTRA: dict[str, dict[str, str]] = {
    "calcium": {
        "about": "Nuclear signal is easier to segment into non-overlapping ROIs and to read out as activity traces. Within "
        "a cell the pixel relation between the two domains is anti-monotonic (rim bright in A, centre bright in B) "
        "while cell-level intensities are proportional, which defeats methods that assume bright stays bright "
        "(STABLE Fig. 1D/E).",
        "input": "`T Y X` movies (TIFF, any bit depth; ImageJ/OME metadata, or `--axes_a TYX`); every frame is translated.",
        "units": "float32 in the normalised units of training (a nuclear indicator has no common scale with the input).",
        "performance": "Training speed at these defaults (256x256, batch 1), 2-core CPU, 2 threads, from `BENCHMARKS.md`: "
        "STABLE 1.23 s/iteration in float32, 0.97 s with bfloat16 autocast (`--amp true`); CycleGAN 15.2 / 3.6 s, "
        "Ui2i 12.9 / 9.2 s, CUT 7.2 / 2.9 s, FastCUT 2.9 / 1.5 s, UTOM 13.7 / 4.4 s.",
    },
    "if_unmixing": {
        "performance": "Training speed of the default method at these defaults (256x256, batch 1, float32), 2-core CPU, 2 threads, from `BENCHMARKS.md` (`python scripts/benchmark.py speed --task if_unmixing --methods ...`): Ui2i 8.79 s/iteration. bfloat16 autocast (`--amp true`) cut the calcium methods' times 1.3-4.2x (not measured for this task); no GPU figures yet.",
        "about": "Two markers imaged in one fluorescence channel (one fluorophore) are separated into two channels, "
        "doubling what a multiplexed panel can label. The output channels are 0 = nuclear marker, 1 = membrane "
        "marker for the phantoms; with real data, the order of the channels of the B images.",
        "input": "single-channel 2D images (TIFF / PNG).",
        "units": "float32 in the normalised units of training, one channel per marker.",
    },
    "denoising": {
        "performance": "Training speed of the default method at these defaults (256x256, batch 1, float32), 2-core CPU, 2 threads, from `BENCHMARKS.md` (`python scripts/benchmark.py speed --task denoising --methods ...`): STABLE (4 levels, batch norm) 5.21 s/iteration. bfloat16 autocast (`--amp true`) cut the calcium methods' times 1.3-4.2x (not measured for this task); no GPU figures yet.",
        "about": "Low-SNR fluorescence (short exposure, low light) is translated into high-SNR images of the same kind "
        "of sample, without pairs of the same field.",
        "input": "2D images or `Z Y X` stacks (TIFF); stacks are translated slice by slice.",
        "units": "float32 in the normalised units of training (0.1 / 99.9 percentiles of each input).",
    },
    "ihc_he_translation": {
        "performance": "Training speed of the default method at these defaults (256x256, batch 1, float32), 2-core CPU, 2 threads, from `BENCHMARKS.md` (`python scripts/benchmark.py speed --task ihc_he_translation --methods ...`): Ui2i 12.47 s/iteration. bfloat16 autocast (`--amp true`) cut the calcium methods' times 1.3-4.2x (not measured for this task); no GPU figures yet.",
        "about": "IHC tiles (hematoxylin + DAB) are translated into H&E appearance so that nucleus segmenters trained on "
        "H&E (StarDist, Cellpose, HoVer-Net) can run on IHC; Ui2i's paper lifts panoptic quality from 0.59 "
        "(CycleGAN) to 0.65 this way.",
        "input": "8-bit RGB tiles (PNG, TIFF, JPEG).",
        "units": "8-bit RGB, the same file type as the input (the fixed 0..255 normalisation is inverted).",
    },
    "mri_t2_pd": {
        "performance": "Training speed of the default method at these defaults (128x128, batch 1, float32), 2-core CPU, 2 threads, from `BENCHMARKS.md` (`python scripts/benchmark.py speed --task mri_t2_pd --methods ...`): STABLE (4 levels, batch norm) 1.56 s/iteration. bfloat16 autocast (`--amp true`) cut the calcium methods' times 1.3-4.2x (not measured for this task); no GPU figures yet.",
        "about": "T2-weighted volumes are translated into PD-weighted contrast. Trained on 2D slices (axial by default: "
        "the last NIfTI axis), inferred slice by slice in batches and written back as a volume with the input's "
        'affine. `--spatial_dims 3 --patch_size "[D,H,W]" --val_size "[D,H,W]"` trains 3D networks instead '
        "(STABLE, CycleGAN, Ui2i and CUT have 3D components).",
        "input": "NIfTI volumes (`.nii`, `.nii.gz`).",
        "units": "float32 in the normalised units of training (0.1 / 99.9 percentiles of each volume).",
    },
    "virtual_he_staining": {
        "performance": "Training speed of the default method at these defaults (256x256, batch 1, float32), 2-core CPU, 2 threads, from `BENCHMARKS.md` (`python scripts/benchmark.py speed --task virtual_he_staining --methods ...`): CycleGAN 10.41 s/iteration. bfloat16 autocast (`--amp true`) cut the calcium methods' times 1.3-4.2x (not measured for this task); no GPU figures yet.",
        "about": "Fluorescence images of tissue (a nuclear channel and an autofluorescence / eosin-like channel) are "
        "translated into H&E appearance. CycleGAN is the default, as in the light-sheet paper; `--method stable` is "
        "the recommended alternative (better spatial fidelity in the STABLE paper). The paper's channel mapping "
        '(C01 -> blue, C02 -> green, red = 0.3 x C02) is available as `--channel_mix_a "[[0,0.3],[0,1],[1,0]]"` '
        "(three mixed input channels).",
        "input": "two-channel fluorescence (`C Y X` TIFF).",
        "units": "8-bit RGB (the fixed 0..255 normalisation of H&E is inverted), same file type as the input.",
    },
    "phase_to_dapi": {
        "performance": "Training speed of the default method at these defaults (256x256, batch 1, float32), 2-core CPU, 2 threads, from `BENCHMARKS.md` (`python scripts/benchmark.py speed --task phase_to_dapi --methods ...`): STABLE (4 levels, batch norm) 5.17 s/iteration. bfloat16 autocast (`--amp true`) cut the calcium methods' times 1.3-4.2x (not measured for this task); no GPU figures yet.",
        "about": "Label-free transmitted-light images (DIC, phase contrast, brightfield) are translated into a nuclear "
        "stain, saving a fluorescence channel and the phototoxicity of UV excitation.",
        "input": "single-channel 2D images or `Z Y X` stacks (TIFF).",
        "units": "float32 in the normalised units of training (0.1 / 99.0 percentiles).",
    },
    "mask_to_nuclei": {
        "performance": "Training speed of the default method at these defaults (256x256, batch 1, float32), 2-core CPU, 2 threads, from `BENCHMARKS.md` (`python scripts/benchmark.py speed --task mask_to_nuclei --methods ...`): CycleGAN 11.60 s/iteration. bfloat16 autocast (`--amp true`) cut the calcium methods' times 1.3-4.2x (not measured for this task); no GPU figures yet.",
        "about": "Nucleus masks (random ellipses, or any label image) are translated into realistic fluorescence images, "
        "giving segmentation training pairs without annotation (Boehland et al.). The DCT low-pass filter on the "
        "cycle path (`addons.dct_cutoff` 0.5) stops the generator from hiding the mask in high-frequency noise "
        "(CycleGAN steganography), so the mask stays the true label of the image. "
        "`python scripts/make_synthetic_nuclei.py --checkpoint O/model.pt --out DIR --n 100` writes such a set.",
        "input": "label or binary masks (TIFF / PNG); any value above 0 is foreground.",
        "units": "float32 in the normalised units of training.",
    },
}

#: the paper experiment on its public data set, per bundle (scripts/prepare_data.py, then training and evaluation)
REPRODUCE = {
    "calcium": (
        "STABLE's zebrafish data (Figshare 10.6084/m9.figshare.28707218, distributed in the unpaired layout):\n"
        "```bash\npython scripts/prepare_data.py stable_calcium --source DOWNLOADED.zip --out data/calcium "
        "[--checksum md5:FROM_FIGSHARE]\n{train} --dataset_dir data/calcium --max_iterations 50000 --output_dir runs/calcium\n{evaluate}\n```\n"
        "Paper (STABLE, Cellpose 3 ROIs): median input-to-translation centroid distance 3.30 px (CycleGAN 8.98, "
        "UTOM 9.20), IoU 0.554 (CycleGAN 0.188), 739 neurons found for 736 in the input (CycleGAN 675)."
    ),
    "denoising": (
        "Penicillium (Zenodo, low/high-SNR volume pair; halves split along X) or CARE planaria (patch halves):\n"
        "```bash\npython scripts/prepare_data.py penicillium --source PENICILLIUM.zip --out data/penicillium\n"
        "python scripts/prepare_data.py planaria --source Denoising_Planaria.tar.gz --out data/planaria\n"
        "{train} --dataset_dir data/penicillium --max_iterations 50000 --output_dir runs/penicillium\n{evaluate}\n```\n"
        "Paper (STABLE vs the low-SNR input): penicillium PSNR 30.5 vs 26.8, SSIM 0.734 vs 0.541, PCC 0.861 vs "
        "0.635; planaria PSNR 35.89 vs 25.36, SSIM 0.762 vs 0.232, PCC 0.844 vs 0.398."
    ),
    "mri_t2_pd": (
        "IXI T2/PD (subjects split in halves between domains; 254 training / 64 evaluation subjects):\n"
        "```bash\npython scripts/prepare_data.py ixi --out data/ixi   # downloads IXI-T2.tar and IXI-PD.tar (resumes)\n"
        "{train} --dataset_dir data/ixi --max_iterations 50000 --output_dir runs/ixi\n{evaluate}\n```\n"
        "Paper (median over 64 volumes): STABLE RMSE 0.0530, MAE 0.0269, PSNR 25.5, SSIM 0.891, PCC 0.985; "
        "CycleGAN 0.0577, 0.0325, 24.8, 0.744, 0.982; UTOM 0.0685, 0.0331, 23.3, 0.860, 0.974."
    ),
    "phase_to_dapi": (
        "In-silico labeling DIC/DAPI fields (transmitted-light middle plane vs DAPI; fields split into left/right "
        "halves between domains, the last field held out):\n"
        "```bash\npython scripts/prepare_data.py in_silico_labeling --source ISL_FOLDER --out data/isl "
        "--transmitted TRANSMITTED --label DAPI\n{train} --dataset_dir data/isl --max_iterations 50000 --output_dir runs/isl\n{evaluate}\n```\n"
        "Paper (STABLE; Cellpose ROIs against ground-truth DAPI): 279 nuclei for 278 true (CycleGAN 252, UTOM "
        "344), median centroid distance 6.03 px (CycleGAN 9.44), IoU 0.505 (CycleGAN 0.251)."
    ),
    "virtual_he_staining": (
        "STABLE's fluorescence/H&E data (Figshare 10.6084/m9.figshare.28707146, unpaired layout; 440 train / 72 "
        "test patches):\n"
        "```bash\npython scripts/prepare_data.py stable_virtual_he --source DOWNLOADED.zip --out data/virtual_he\n"
        "{train} --dataset_dir data/virtual_he --method stable --max_iterations 50000 --output_dir runs/virtual_he\n"
        "{evaluate}\n```\n"
        "Paper: STABLE ahead of CycleGAN, MUNIT, SANTA and UTOM on nucleus count, input-to-translation distance and "
        "IoU (box plots, n = 72); CycleGAN inverted background and foreground."
    ),
    "ihc_he_translation": (
        "DeepLIIF tiles (IHC panel vs another panel, tiles split between domains; validation tiles as the paired "
        "test set with nucleus labels); the paper's IHC->H&E result used its own H&E set:\n"
        "```bash\npython scripts/prepare_data.py deepliif --source DeepLIIF_Datasets.zip --out data/deepliif "
        "--panel_a ihc --panel_b hematoxylin\n{train} --dataset_dir data/deepliif --max_iterations 50000 "
        "--output_dir runs/deepliif\n{evaluate}\n```\n"
        "Paper (Ui2i, StarDist on translated H&E): instance precision 0.87 (CycleGAN 0.72), recall 0.77 (0.76), "
        "PQ 0.65 (0.59)."
    ),
    "if_unmixing": (
        "Your own two-marker data, or the DeepLIIF DAPI/Lap2 panels summed into one channel; the generic path "
        "checks formats and channels:\n"
        "```bash\npython scripts/prepare_data.py folders --a MIXED_CHANNEL_IMAGES --b TWO_CHANNEL_IMAGES "
        "--test_a TEST_MIXED --test_b TEST_TWO_CHANNEL --out data/unmixing\n{train} --dataset_dir data/unmixing "
        "--max_iterations 50000 --output_dir runs/unmixing\n{evaluate}\n```\n"
        "Paper (Ui2i, HT-T24): MicroMS-SSIM 0.96 / 0.96 and PSNR 38 / 32 for the two channels (paired MicroSplit: "
        "0.978 / 0.951, 40.3 / 32.8)."
    ),
    "mask_to_nuclei": (
        "Any set of nucleus label images (A) and unpaired fluorescence nuclei (B), through the generic path:\n"
        "```bash\npython scripts/prepare_data.py folders --a LABEL_MASKS --b NUCLEI_IMAGES --out data/masks\n"
        "{train} --dataset_dir data/masks --max_iterations 50000 --output_dir runs/masks\n```\n"
        "No published figure to compare: check the synthetic set by training a segmenter on it "
        "(`scripts/make_synthetic_nuclei.py`, `scripts/train_cellpose.py`) and scoring it on real labelled nuclei."
    ),
}

DOCS = """# {title}

## Description
Unpaired image-to-image translation of {a} into {b}. {about}

Default method: **{method}** ({paper}). Every other method runs by one switch on the command line:
`--method cyclegan|ui2i|stable|cut|fastcut|utom`. The default method's hyper-parameters (the paper's, with this
task's settings) are listed in full under `hyperparameters#{method}` in `configs/train.json`; the other methods'
entries hold only this task's departures from their papers' defaults (listed under "Configuration" below), and
`--method M` fills in the rest. Any of them can be overridden, e.g. `--hyperparameters#{method}#pool_size 0` or
`--hyperparameters#cyclegan#lambda_cyc 5`; add-ons for every method are under `addons` (`dct_cutoff`,
`lambda_fsesim`, `identity_warmup`, `lambda_polarity`, `polarity`). A model's `model.json` stores every
hyper-parameter it was trained with.

### What the defaults do, and why
{defaults}

## Data
Layout `DATASET/{{trainA,trainB,valA,valB,testA,testB}}` (repository README): A = {a}; B = {b}. A and B need not
show the same samples. Model selection (`best_model.pt`) uses `valA`, never the test set: with `valB` images named
like the `valA` ones it keeps the model of highest intensity-fitted PSNR against them (`val_psnr`); without ground
truth it keeps the lowest `val_selection` = realism of the translations against real B patches (`valB`, else
`trainB`) + the cycle error through a DCT low-pass (two-sided methods), which steganographic, near-identity,
inverted and flat outputs fail. Without `valA`, training A images are validated with that unsupervised criterion.
Every validation is recorded in `O/validation.csv` (`--keep_snapshots true` also keeps each validated generator in
`O/snapshots/`), with the watch of `validate#watch`: the steganography probe (`val_probe_lowpass_gain`,
`val_probe_noise_gain`: how far the cycle's reconstruction moves per unit of a DCT low-pass or of faint noise on the
translation, about 1 or less for an honest cycle; `val_hides_input` 1 and a warning in the log above 2) and, where
the task has objects, classical-segmenter counts in translations and inputs (`val_count_ratio`, warning outside
0.5-2). At the end, `O/report/report.html` shows input / translation / uncertainty / error panels of validation
images, the last metrics, the watch's verdicts and the validation model selection picked (logged to MLflow too). Input: {input} Without `--dataset_dir` the bundle trains on phantoms it writes to
`OUTPUT/phantoms` (`common.phantoms.{name}`, with ground truth and a validation split).

## Preprocessing
A: {norm_a}. B: {norm_b}. Normalisation is computed over each whole image, stack or movie. Training samples a
random 2D frame or slice, crops a random {patch}x{patch} patch and applies random 90-degree rotations and flips.

## Training
```bash
python -m monai.bundle run training --config_file bundles/{name}/configs/train.json \\
    [--dataset_dir D] [--output_dir O] [--max_iterations N] [--method M] \\
    [--tracking mlflow --tracking_uri sqlite:///PATH/mlruns.db]
```
Writes `O/model.pt` (the A -> B generator as `{{"model": state_dict}}`, weight normalisation baked in) with
`O/model.json` (how to rebuild it), full checkpoints in `O/checkpoints/`, `O/losses.csv`, `O/samples/` and
`O/best_model.pt` (best validation metric). Rerunning the same command resumes with the same data stream,
learning rate and losses as an uninterrupted run; `--stop_after K` ends this process after K iterations while
keeping the schedule of `--max_iterations`; `--amp true` uses bfloat16 autocast (2.4-2.6x for CycleGAN on a 2-core
AMX CPU, but it cost STABLE quality over seeds: keep STABLE in fp32, see `BENCHMARKS.md`); `--compile true`
compiles the networks with `torch.compile` (a minute of compilation first; 1.7x more for CycleGAN under bf16,
slower for STABLE; needs a C++ compiler).

### Several GPUs or nodes
```bash
torchrun --nproc_per_node=N -m monai.bundle run training \\
    --config_file "['bundles/{name}/configs/train.json','bundles/{name}/configs/multi_gpu_train.json']" [options as above]
# several nodes: the same on every node, plus --nnodes=M --node_rank=R --rdzv_backend=c10d --rdzv_endpoint=HOST:PORT
```
`multi_gpu_train.json` joins the process group in `initialize` (NCCL on GPU, gloo on CPU; device `cuda:LOCAL_RANK`),
wraps each network in its own `DistributedDataParallel` (networks sharing weights, like Ui2i's generators, in one),
gives every rank a disjoint share of the data stream (both domains), and leaves the group in `finalize`. Every rank
steps the learning-rate schedules and validates its share of the validation set (metrics are gathered); checkpoints,
model files, the loss log, sample grids and MLflow tracking happen on rank 0 only. `--batch_size` is per rank (the
effective batch is N times larger; the learning rate is not rescaled), and batch statistics, PatchNCE negatives and
image pools stay per rank, as in the papers' single-GPU setting. Checkpoints are the same as a single process's:
either kind of run resumes the other's. `OUTPUT/ranks/rank_R.json` reports each rank's iterations, samples and a
digest of its weights (equal on every rank).

## Inference
```bash
python -m monai.bundle run --config_file bundles/{name}/configs/inference.json \\
    --dataset_dir IN --output_dir OUT [--checkpoint O/model.pt]
```
Writes one file per input into `OUT` with the same name, type and geometry (TIFF axes and pixel size, NIfTI
affine). Images are translated whole up to `--tile_size` pixels per axis (default 1024 in 2D, 128 in 3D), larger
ones in Gaussian-blended tiles of that size with overlap 0.5 (tiles of the training patch size left seams: the
networks see farther than such a tile's margin); any size down to one pixel works; stacks, movies and volumes
go slice by slice in batches. Output: {units} Existing outputs are never overwritten.

`--uncertainty true` writes, beside each translation, a per-pixel uncertainty map in `OUT/uncertainty/` (same name,
type, geometry and units): the standard deviation of the translation over the 8 test-time flips/rotations of the
input (undone before combining; the 8 axis flips in 3D) and, with `--uncertainty_checkpoints K`, over the model and
the K-1 latest snapshots of its run (`O/snapshots/`, written with `--keep_snapshots true`). The translation written
with the option is the mean over those passes, not the single network's output. It costs 8 (x K) forward passes;
streamed files are translated twice (once per output). How well it ranks the errors is measured per task in
`BENCHMARKS.md` ("Uncertainty against error").

Export to TorchScript:
```bash
python -m monai.bundle ckpt_export network_def --filepath bundles/{name}/models/model.ts \\
    --ckpt_file O/model.pt --key_in_ckpt model --checkpoint O/model.pt \\
    --meta_file bundles/{name}/configs/metadata.json --config_file bundles/{name}/configs/inference.json
```

## Configuration
The configs are MONAI bundle components (`_target_` plus arguments), so any piece can be overridden from the
command line by its id (`--train#dataset#cache_rate 0.5`, `--lr_scheduler_g#lr_lambda#decay_start 500`):
- `bundle_root`: the bundle folder, found from `--config_file` (else the working directory when it is a bundle, else
  this project's copy): a copy of the folder trains and infers on its own, with the package of `metadata.json`'s
  `required_packages_version` installed; `--bundle_root` sets it.
- `method_def` (`common.methods.make_method`): the method object owning the networks and losses of `@method` with
  `hyperparameters#@method` and `addons`; `network_def` / `network` are its A -> B generator.
- `optimizer_g`, `optimizer_d`: the generators' and discriminators' optimisers with the paper's settings
  (`learning_rate` overrides); `lr_scheduler_g`, `lr_scheduler_d`: constant, then linear decay to 0 from
  `lr_decay_start` (`common.ops.LinearDecay`).
- `train#dataset` (`common.data.make_unpaired_dataset`): cached, normalised A and B images, drawn independently as
  random patches of `patch_size`; `train#sampler` (`common.data.StreamSampler`) numbers the stream so a resumed run
  draws the same samples; `train#dataloader`; `train#trainer` (`common.engines.UnpairedTrainer`, Ignite) with
  `train#handlers` (LR steps, validation every `val_interval`, `validation.csv`, sample grids, `model.pt`,
  `losses.csv`, the report, MLflow, progress bar).
- `validate#items` (`common.engines.validation_items`): fixed validation crops of `val_size`; `validate#metrics`,
  `validate#watch` (steganography probe and object counts), `validate#handlers` (selection into `best_model.pt`),
  `validate#evaluator` (MONAI `SupervisedEvaluator`).
- `checkpoint_saver` / `checkpoint_loader` on `checkpoint_dict` (method, optimisers, schedules, trainer, RNG):
  rerunning the command resumes from the latest checkpoint in `checkpoint_dir`.
- `multi_gpu_train.json` overrides ids only: `device`, `train#dataset#length`, `train#sampler#rank`, ...
- `inference.json`: `spec` (the checkpoint's `model.json`), `network_def`, `network`, `preprocessing`, `inferer`,
  `postprocessing`, `translator` (the network, or the test-time ensemble with `--uncertainty true`) and
  `translate` (`common.inference.translate_files` over those pieces), which `run` calls.

Paper defaults of the methods whose hyper-parameters `train.json` does not list in full:
{other_defaults}

## Real data: reproducing the paper
{reproduce}

Real-data results measured on this project's small sample images are in the repository's `BENCHMARKS.md`.

## MONAI Label
`inference.json` also holds the ids MONAI Label's bundle inference reads: `network_def` (rebuilt from
`models/model.json`), `models/model.pt` (key `model`), `preprocessing` (a `LoadImaged` with this project's readers,
then the A normalisation), `inferer` (`common.inference.FrameInferer`: frame by frame, whole or in large tiles) and
`postprocessing` (back to B's units); input `image`, output `pred` in `network_data_format`. Copy the trained
`model.pt` and `model.json` into `bundles/{name}/models/`, then in a MONAI Label installation (kept out of this
project's install: it pins an old numpy and torchvision) with this repository on `PYTHONPATH`:
```bash
monailabel start_server --app <monaibundle app> --studies <image folder> --conf models {name} \\
    --conf bundle_path <folder holding bundles/{name}>
```
Label serves the bundle as an inference task of its default type (segmentation, as no keyword in the name says
otherwise); the result it returns is the translated image (float, the input's geometry, restored by Label), not a
label map: open it as a volume. The suite checks this path by driving the bundle exactly as Label's
`BundleInferTask` does (same config ids and substitutions) and comparing with the bundle's own inference; a live
Label server was not run.

## Evaluation
```bash
python -m monai.bundle run --config_file bundles/{name}/configs/evaluate.json \\
    --dataset_dir D --output_dir O [--checkpoint C | --predictions_dir P] [--tracking_uri sqlite:///PATH/mlruns.db]
```
Translates `D/testA` (or takes translations from `P`) with the test-time ensemble of `--uncertainty true` (the
default here; `--uncertainty false` for the plain network), then writes `O/per_image.csv`, `O/per_object.csv`,
`O/summary.json` (metric -> median and IQR; `uncertainty_spearman` and `uncertainty_top_ratio` score the
uncertainty against the error where `D/testB` exists), figures (`objects_boxplot.png`, `overlay.png`) and the
fidelity report `O/report.html` (input / translation / uncertainty / error panels of the first images, the metrics,
the probe's verdict, the checkpoint and the validation model selection picked, read from `validation.csv` beside
it), and logs them as an MLflow run (`--tracking_uri None` to skip). With a full training checkpoint holding both
generators (by default the latest of `checkpoints/` beside `--checkpoint`; `--training_checkpoint FILE` to choose)
it adds the steganography probe per image: the cycle error with and without a DCT low-pass filter or faint noise
on the translation, the reverse generator's gains under each (`lowpass_gain`, `noise_gain`: a report warning above
2) and the translation's share of high-frequency energy. Pixel metrics (RMSE, MAE, PSNR, SSIM, MS-SSIM, MicroMS-SSIM, PCC)
against `D/testB`, frame by frame; {objects}

## Performance
{performance}

## Limits
A translation that looks right can still move, drop or invent objects; check object-level metrics (centroid
distance, count, IoU) on held-out data before relying on it. Models translate the stains, indicators and imaging
conditions they were trained on. Research use only.

## References
- {paper}
- J.-Y. Zhu et al., Unpaired image-to-image translation using cycle-consistent adversarial networks, ICCV 2017.
"""


def norm_text(norm: dict) -> str:
    if norm["mode"] == "percentile":
        return f"{norm['lower']} / {norm['upper']} percentiles per channel to 0 / 1" + (
            "" if norm["clip"] else ", not clipped"
        )
    if norm["mode"] == "range":
        return f"fixed range {norm['a_min']:g}..{norm['a_max']:g} to 0 / 1" + (", clipped" if norm["clip"] else "")
    return "none"


def reproduce_text(name: str) -> str:
    """The bundle's real-data commands: the evaluation uses the training command's data set and output folder."""
    text = REPRODUCE[name]
    data = re.search(r"--dataset_dir (\S+)", text)
    run = re.search(r"--output_dir (\S+)", text)
    evaluate = ""
    if data and run:
        evaluate = (
            f"python -m monai.bundle run --config_file bundles/{name}/configs/evaluate.json --dataset_dir "
            f"{data.group(1)} --checkpoint {run.group(1)}/model.pt --output_dir {run.group(1)}/evaluation"
        )
    train = f"python -m monai.bundle run training --config_file bundles/{name}/configs/train.json"
    return text.format(train=train, evaluate=evaluate)


POLARITY_TEXT = {
    1: "keeps the brightness relation of the two modalities (`polarity` 1)",
    -1: "reverses the brightness relation of the two modalities (`polarity` -1)",
    0: "has no fixed brightness relation, so the polarity term is off (`polarity` 0)",
}


def defaults_text(name: str, task: dict) -> str:
    """The paragraph of a bundle's docs that says what its training defaults do and why (measured in
    BENCHMARKS.md)."""
    same = task["channels"][0] == task["channels"][1]
    parts = [
        "Every method trains with two add-ons against the failures measured on the convergence benchmark "
        "(`BENCHMARKS.md`): the unpaired game can settle on an inverted translation (dark where the target is "
        "bright) as easily as on the right one, and STABLE's reference code did so on 2 of 3 seeds of real "
        "denoising data."
        + (
            " An identity warm-up pulls each translation towards its own input during the first 10% of the run "
            "(`identity_warmup`, weight falling from `lambda_warmup` 5 to 0), so training starts in the basin "
            "where bright stays bright."
            if same
            else " (The identity warm-up needs the same channel count in both domains and is inactive here.)"
        )
        + f" A polarity hinge (`lambda_polarity` 1) penalises only a wrong sign of the correlation between the "
        f"8-pixel block means of input and translation: this task {POLARITY_TEXT[POLARITY[name]]}.",
    ]
    if task["method"] == "stable":
        parts.append(
            "STABLE follows the authors' code: static demodulated convolutions without biases (the generator "
            "scales its output with its input), an LSGAN discriminator of three stride-2 levels (0.66 M "
            "parameters), information consistency with the reference's stop-gradients, no image pool, a constant "
            "learning rate, and the cycle weight ramped along a sigmoid over the whole run (`cyc_ramp_iterations` "
            "= `max_iterations`)."
        )
    return "\n\n".join(parts)


def other_defaults_text(task: dict) -> str:
    """One line per method other than the task's default: its paper defaults (read from its code) and the task's
    departures from them (what its ``hyperparameters`` entry in ``train.json`` holds)."""
    lines = []
    given = hyperparameters(task)
    for method in METHODS:
        if method == task["method"]:
            continue
        values = ", ".join(f"`{k}` {json.dumps(v)}" for k, v in method_defaults(method).items())
        here = ", ".join(f"`{k}` {json.dumps(v)}" for k, v in given[method].items())
        lines.append(f"- `{method}`: {values}" + (f"; this task sets {here}." if here else "."))
    return "\n".join(lines)


def docs(name: str, task: dict) -> str:
    extra = DOCS_EXTRA[name]
    performance = extra.get(
        "performance",
        f"Training speed at these defaults has not been measured yet (`python scripts/benchmark.py speed --task {name}`).",
    )
    return DOCS.format(
        name=name,
        title=task["title"],
        a=task["a"],
        b=task["b"],
        method=task["method"],
        paper=task["paper"],
        about=extra["about"],
        input=extra["input"],
        units=extra["units"],
        patch=task["patch"],
        norm_a=norm_text(task["normalization"][0]),
        norm_b=norm_text(task["normalization"][1]),
        performance=performance,
        defaults=defaults_text(name, task),
        other_defaults=other_defaults_text(task),
        reproduce=reproduce_text(name),
        objects=(
            "no object metrics (the labels of this task are tissue classes, not instances)."
            if task["segment"] is None
            else "object metrics from segmenting translations - with a Cellpose model given by `--cellpose_model PATH` "
            "(train one from labels with `scripts/train_cellpose.py`), else the classical fallback (Otsu + watershed); "
            "the segmenter is named in every report: counts, precision, recall, F1, segmentation and panoptic quality against "
            "`D/testB_labels`, and for every input object (`D/testA_labels`) the distance to the nearest translated "
            "object's centroid and their IoU (STABLE Fig. 2D/E)"
            + (
                "; for movies, the correlation of each input ROI's activity trace with its nearest translated ROI's (STABLE Fig. 2F)."
                if name == "calcium"
                else "."
            )
        ),
    )


ADDONS = {
    "lambda_fsesim": 0.0,
    "fsesim_window": 7,
    "dct_cutoff": 1.0,
    "identity_warmup": "$@max_iterations // 10",
    "lambda_warmup": 5.0,
    "lambda_polarity": 1.0,
}
#: the brightness relation of each task's modalities (+1 kept, -1 reversed, 0 none: DIC/phase shows edges)
POLARITY = {
    "calcium": 1,
    "if_unmixing": 1,
    "denoising": 1,
    "ihc_he_translation": 1,
    "mri_t2_pd": 1,
    "virtual_he_staining": -1,
    "phase_to_dapi": 0,
    "mask_to_nuclei": 1,
}


def addons(name: str, task: dict, run_relative: bool = True) -> dict:
    """The add-ons of a task; without a run (inference, evaluation) the warm-up, a training-only term, is 0."""
    out = ADDONS | {"polarity": POLARITY[name]} | task.get("addons", {})
    return out if run_relative else out | {"identity_warmup": 0}


#: settings that follow the run instead of a fixed number: STABLE's cycle-weight ramp spans the whole run, as in the
#: reference README's recipe (a fixed 10,000-iteration ramp left the weight near 0 in a 2,000-iteration run)
RUN_RELATIVE = {"stable": {"cyc_ramp_iterations": "$@max_iterations"}}


def hyperparameters(task: dict, run_relative: bool = True) -> dict:
    """Each method's hyper-parameters for a task: all of them for the task's default method (what a reader of
    ``train.json`` sees), only the task's departures from the paper defaults for the others (their defaults live
    in their code and the bundle docs; ``--method M`` fills them in). ``run_relative=False`` for configs without a
    run (inference, evaluation), where only the networks matter."""
    relative = RUN_RELATIVE if run_relative else {}
    given = {name: relative.get(name, {}) | task["overrides"].get(name, {}) for name in METHODS}
    default = task["method"]
    return {default: method_defaults(default) | given[default]} | {n: g for n, g in given.items() if n != default}


#: a bundle finds its own folder (that of the --config_file it runs, else the working directory or this project's
#: copy); MONAI Label, Deploy and a user set it with --bundle_root
BUNDLE_ROOT = "$common.find_bundle_root(@task)"


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
        "data_root": "$common.phantoms.ensure_phantoms(@task, os.path.join(@output_dir, 'phantoms'), n_train=8, "
        "n_test=2, size=@phantom_size, seed=@seed) if not @dataset_dir else @dataset_dir",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "seed": 0,
        "method": task["method"],
        "max_iterations": 2000,
        "stop_after": None,
        "epoch_length": 100,
        "val_interval": 250,
        "checkpoint_interval": 250,
        "sample_interval": 250,
        "keep_snapshots": False,
        "batch_size": 1,
        "num_workers": 0,
        "learning_rate": None,
        "lr_decay_start": "$@method_def.lr_decay_start(@max_iterations)",
        "amp": False,
        "amp_dtype": "bfloat16",
        "compile": False,
        "ema_decay": None,
        "grad_clip": None,
        "spatial_dims": 2,
        "channels_a": channels_a,
        "channels_b": channels_b,
        "channel_mix_a": None,
        "axes_a": axes_a,
        "axes_b": axes_b,
        "patch_size": patch,
        "val_size": patch,
        # the classical segmenter's settings for the object-count watch at validation (None: no objects)
        "segmenter_settings": task["segment"],
        "normalization_a": norm_a,
        "normalization_b": norm_b,
        "hyperparameters": hyperparameters(task),
        "addons": addons(name, task),
        # the network's input channels: those of A, or the count after channel_mix_a
        "in_channels": "$@channels_a if @channel_mix_a is None else len(@channel_mix_a)",
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
        "checkpoint_dir": "$os.path.join(@output_dir, 'checkpoints')",
        "resume_from": "$common.engines.latest_checkpoint(@checkpoint_dir)",
        "tracking_uri": "$'sqlite:///' + os.path.join(common.PROJECT_ROOT, 'mlflow', 'mlruns.db')",
        "experiment_name": "@task",
        "run_name": "$@method + '-' + os.path.basename(os.path.abspath(@output_dir))",
        "model_spec": {
            "task": "@task",
            "method": "@method",
            "spatial_dims": "@spatial_dims",
            "channels_a": "@in_channels",
            "channels_b": "@channels_b",
            "hyperparameters": "$common.methods.resolve_hyperparameters(@method, @hyperparameters.get(@method))",
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
            "hyperparameters": "$@method_def.hyperparameters()",
            "addons": "@addons",
            "patch_size": "@patch_size",
            "batch_size": "@batch_size",
            "seed": "@seed",
            "max_iterations": "@max_iterations",
            "learning_rate": "$@optimizer_g.param_groups[0]['lr']",
            "lr_decay_start": "@lr_decay_start",
            "amp": "$common.as_bool(@amp, 'amp')",
            "ema_decay": "@ema_decay",
            "grad_clip": "@grad_clip",
            "data_root": "@data_root",
            "normalization_a": "@normalization_a",
            "normalization_b": "@normalization_b",
            "channel_mix_a": "@channel_mix_a",
            "output_dir": "@output_dir",
            "environment": "$common.engines.environment_info()",
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
                    "snapshot_dir": "$os.path.join(@output_dir, 'snapshots') "
                    "if common.as_bool(@keep_snapshots, 'keep_snapshots') else None",
                },
                {
                    "_target_": "common.engines.SampleGridSaver",
                    "output_dir": "@output_dir",
                    "method": "@method_def",
                    "samples": "$torch.stack([x['image'] for x in @validate#items[:2]])",
                    "interval": "@sample_interval",
                },
                {
                    "_target_": "common.engines.ModelSaver",
                    "path": "$os.path.join(@output_dir, 'model.pt')",
                    "interval": "@checkpoint_interval",
                    "spec": "@model_spec",
                },
                {"_target_": "common.engines.LossLogger", "path": "$os.path.join(@output_dir, 'losses.csv')"},
                {
                    "_target_": "common.engines.TrainingReport",
                    "output_dir": "@output_dir",
                    "evaluator": "@validate#evaluator",
                    "items": "@validate#items",
                    "ground_truth": "@validate#has_ground_truth",
                    "watch": "@validate#watch",
                    "spatial_dims": "@spatial_dims",
                },
                {
                    "_target_": "common.engines.RunLogger",
                    "params": "@tracking_params",
                    "artifacts": "$[os.path.join(@output_dir, 'model.pt')] + common.engines.report_files(@output_dir)",
                    "newest_of": ["$os.path.join(@output_dir, 'config_*.json')"],
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
                "amp": "$common.as_bool(@amp, 'amp')",
                "amp_dtype": "@amp_dtype",
                "compile": "$common.as_bool(@compile, 'compile')",
                "ema_decay": "@ema_decay",
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
            "has_ground_truth": "$common.engines.has_ground_truth(@data_root)",
            "reference": "$None if @validate#has_ground_truth else common.engines.reference_images(@data_root, "
            "@spatial_dims, size=@val_size, normalization_b=@normalization_b)",
            "dataloader": {
                "_target_": "DataLoader",
                "dataset": "$monai.data.Dataset(@validate#items)",
                "batch_size": 4,
                "shuffle": False,
                "num_workers": 0,
            },
            "network": "$common.engines.validation_network(@method_def, @validate#has_ground_truth)",
            "inferer": {"_target_": "SimpleInferer"},
            "metrics": "$common.engines.validation_metrics(@validate#has_ground_truth, @spatial_dims, "
            "@validate#reference, @channels_b)",
            "watch": {
                "_target_": "common.engines.TranslationWatch",
                "method": "@method_def",
                "items": "@validate#items",
                "spatial_dims": "@spatial_dims",
                "segmenter": "$None if @segmenter_settings is None else "
                "common.segmentation.ClassicalSegmenter(**@segmenter_settings)",
                "segmenter_input": "$None if @segmenter_settings is None else "
                "common.segmentation.ClassicalSegmenter(**{k: v for k, v in @segmenter_settings.items() "
                "if k != 'channel'})",
            },
            "handlers": [
                "@validate#watch",
                {"_target_": "StatsHandler", "iteration_log": False},
                {
                    "_target_": "common.engines.ModelSaver",
                    "path": "$os.path.join(@output_dir, 'best_model.pt')",
                    "get_network": "$lambda: @method_def.generator_ab",
                    "spec": "@model_spec",
                    "key_metric": "$next(iter(@validate#metrics[0]))",
                    "higher_is_better": "@validate#has_ground_truth",
                },
            ],
            "evaluator": {
                "_target_": "SupervisedEvaluator",
                "device": "@device",
                "val_data_loader": "@validate#dataloader",
                "network": "@validate#network",
                "inferer": "@validate#inferer",
                "key_val_metric": "$@validate#metrics[0]",
                "additional_metrics": "$@validate#metrics[1]",
                "metric_cmp_fn": "$(lambda current, best: current > best) if @validate#has_ground_truth else "
                "common.engines.lower_is_better",
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
            "rng": "$common.engines.RNGState()",
        },
        "checkpoint_loader": {
            "_target_": "CheckpointLoader",
            "_disabled_": "$@resume_from is None",
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
            "$@checkpoint_loader.attach(@train#trainer) if @checkpoint_loader is not None else None",
        ],
        "run": ["$@train#trainer.run()"],
        "training": ["$@train#trainer.run()"],
        "finalize": [],
    }


def multi_gpu_config(train: dict) -> dict:
    """The ``torchrun`` overlay of ``train.json`` (MONAI's ``multi_gpu_train.json`` convention): process group in
    ``initialize``, device from ``LOCAL_RANK``, a disjoint share of the data stream per rank, each network in its own
    DDP, and rank-0-only handlers (validation, samples, model files, loss log, MLflow, progress, checkpoints)."""
    # every rank steps the two LR schedulers and validates its share of the validation set (MONAI's metrics gather
    # across ranks); the handlers after them run on rank 0 only
    n_all_rank = 3
    targets = [h["_target_"] for h in train["train"]["handlers"][:n_all_rank]]
    assert targets == ["LrScheduleHandler", "LrScheduleHandler", "ValidationHandler"], targets
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
        "validate#evaluator#val_handlers": "$@validate#handlers if dist.get_rank() == 0 else None",
        "rank_report": {
            "_target_": "common.engines.RankReport",
            "directory": "$os.path.join(@output_dir, 'ranks')",
            "method": "@method_def",
        },
        "train#trainer#train_handlers": f"$[@rank_report] + @train#handlers[: {n_all_rank} if dist.get_rank() > 0 else None]",
        "initialize": [
            "$common.errors.install_cli_error_hook()",
            "$common.distributed.init_distributed()",
            "$monai.utils.set_determinism(seed=@seed + dist.get_rank())",
            "$@checkpoint_saver.attach(@train#trainer) if dist.get_rank() == 0 else None",
            "$@checkpoint_loader.attach(@train#trainer) if @checkpoint_loader is not None else None",
        ],
        "finalize": ["$common.distributed.cleanup_distributed()"],
    }


def inference_config(name: str, task: dict, train: dict) -> dict:
    keep = (
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
        "spec": "$common.engines.read_model_spec(@checkpoint, @default_spec)",
        "network_def": "$common.methods.make_generator(@spec)",
        "network": "$common.engines.load_model_weights(@network_def, @checkpoint).to(@device).eval()",
        "batch_size": 8,
        "tile_size": None,
        "sw_batch_size": 4,
        "overlap": 0.5,
        # the three steps of the translation (image -> pred), run by "run" and read by MONAI Label and Deploy
        "preprocessing": {
            "_target_": "common.inference.preprocessing",
            "normalization": "$@spec['normalization_a']",
            "axes": "$@spec['axes_a']",
            "channel_mix": "$@spec.get('channel_mix_a')",
        },
        "inferer": {
            "_target_": "common.inference.FrameInferer",
            "spatial_dims": "$@spec['spatial_dims']",
            "roi_size": "@tile_size",
            "sw_batch_size": "@sw_batch_size",
            "overlap": "@overlap",
            "batch_size": "@batch_size",
        },
        "postprocessing": {"_target_": "common.inference.postprocessing", "normalization": "$@spec['normalization_b']"},
        "output_dtype": task["output_dtype"],
        "overwrite": False,
        # --uncertainty true: the mean over test-time flips/rotations (and the last checkpoints) is written, with
        # its per-pixel standard deviation under output_dir/uncertainty
        "uncertainty": False,
        "uncertainty_checkpoints": 1,
        "uncertainty_augment": True,
        "uncertainty_dir": "$os.path.join(@output_dir, 'uncertainty') "
        "if common.as_bool(@uncertainty, 'uncertainty') else None",
        "translator": "$common.inference.ensemble_translator(@network, @spec, @checkpoint, "
        "@uncertainty_checkpoints, common.as_bool(@uncertainty_augment, 'uncertainty_augment'), @device) "
        "if @uncertainty_dir else @network",
        # every file of dataset_dir through preprocessing, inferer and postprocessing into output_dir (inputs
        # checked first; the spec's normalisation, axes and channels also serve files streamed page by page)
        "translate": {
            "_target_": "common.inference.translate_files",
            "_mode_": "callable",
            "network": "@translator",
            "inputs": "@dataset_dir",
            "output_dir": "@output_dir",
            "preprocessing": "@preprocessing",
            "inferer": "@inferer",
            "postprocessing": "@postprocessing",
            "normalization": "$@spec['normalization_a']",
            "axes": "$@spec['axes_a']",
            "channel_mix": "$@spec.get('channel_mix_a')",
            "channels": "$@spec['channels_a']",
            "spatial_dims": "$@spec['spatial_dims']",
            "output_normalization": "$@spec['normalization_b']",
            "output_dtype": "@output_dtype",
            "device": "@device",
            "overwrite": "$common.as_bool(@overwrite, 'overwrite')",
            "uncertainty_dir": "@uncertainty_dir",
        },
        "run": ["$@translate()"],
        "initialize": ["$common.errors.install_cli_error_hook()"],
        "finalize": [],
    }
    return config


def evaluate_config(name: str, task: dict, inference: dict) -> dict:
    keep = (
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
        "default_spec",
    )
    segment = task["segment"]
    segmenter = (
        None
        if segment is None
        else "$common.segmentation.CellposeSegmenter(@cellpose_model, channel=@segmenter_settings.get('channel')) "
        "if @cellpose_model else common.segmentation.ClassicalSegmenter(**@segmenter_settings)"
    )
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
        "spec": "$common.engines.read_model_spec(@checkpoint, @default_spec)",
        "network_def": "$common.methods.make_generator(@spec)",
        "network": "$None if @predictions_dir else common.engines.load_model_weights(@network_def, @checkpoint).to(@device).eval()",
        # the full training checkpoint (both generators) for the steganography probe: by default the latest one
        # of the run that wrote @checkpoint (none beside a bundle's models/model.pt: no probe)
        "training_checkpoint": "$common.engines.latest_checkpoint(os.path.join(os.path.dirname(@checkpoint), "
        "'checkpoints'))",
        "probe_method": "$common.engines.load_method(@spec, @training_checkpoint) if @training_checkpoint else None",
        # the translation is the mean over the 8 test-time flips/rotations (and the last uncertainty_checkpoints
        # snapshots), its spread the uncertainty of the report; --uncertainty false: the plain network
        "uncertainty": True,
        "uncertainty_checkpoints": 1,
        "translator": "$common.inference.ensemble_translator(@network, @spec, @checkpoint, "
        "@uncertainty_checkpoints, True, @device) if @network is not None and common.as_bool(@uncertainty, "
        "'uncertainty') else @network",
        "cellpose_model": None,
        "segmenter_settings": segment or {},
        "segmenter": segmenter,
        "tracking_uri": "$'sqlite:///' + os.path.join(common.PROJECT_ROOT, 'mlflow', 'mlruns.db')",
        "run_name": "$'evaluate-' + @spec['method'] + '-' + os.path.basename(os.path.abspath(@output_dir))",
        "params": {
            "task": "@task",
            "method": "$@spec['method']",
            "checkpoint": "@checkpoint",
            "predictions_dir": "@predictions_dir",
            "dataset_dir": "@dataset_dir",
            "segmenter": "$getattr(@segmenter, 'name', None)",
            "stage": "evaluation",
        },
        "overwrite": False,
        "run": [
            "$common.evaluation.evaluate(@dataset_dir, @output_dir, network=@translator, spec=@spec, "
            "predictions_dir=@predictions_dir, segmenter=@segmenter, device=@device, tracking_uri=@tracking_uri, "
            "experiment_name=@task, run_name=@run_name, params=@params, "
            "overwrite=common.as_bool(@overwrite, 'overwrite'), method=@probe_method, checkpoint=@checkpoint)"
        ],
        "initialize": ["$common.errors.install_cli_error_hook()"],
        "finalize": [],
    }
    return config


def metadata(name: str, task: dict) -> dict:
    channels_a, channels_b = task["channels"]
    norm_a, norm_b = task["normalization"]

    def fmt(channels: int, what: str, norm: dict) -> dict:
        return {
            "type": "image",
            "format": "magnitude",
            "modality": task["modality"],
            "num_channels": channels,
            "spatial_shape": ["16*n", "16*n"],
            "dtype": "float32",
            "value_range": [0, 1],
            "is_patch_data": True,
            "channel_def": {str(i): f"{what} (channel {i}, {norm['mode']}-normalised)" for i in range(channels)},
        }

    return {
        "schema": "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json",
        "version": "0.1.0",
        "changelog": {
            "0.1.0": f"first version: {task['method']} by default, every method by --method, phantoms built in"
        },
        "monai_version": "1.6.1",
        "pytorch_version": "2.13.0",
        "numpy_version": "2.0",
        "required_packages_version": {
            # this project's component library (common/), installed by `pip install -e .` at the project root
            PACKAGE["name"]: PACKAGE["version"],
            "pytorch-ignite": "0.5.5",
            "tifffile": "2026.3.3",
            "mlflow": "3.17.2",
            "nibabel": "5.4.2",
        },
        "supported_apps": {},
        "name": task["title"],
        "task": f"Unpaired image-to-image translation: {task['a']} -> {task['b']}",
        "description": f"{task['title']}. Translates {task['a']} into {task['b']} without paired training data; "
        f"default method {task['method']} ({task['paper']}); CycleGAN, Ui2i, STABLE, CUT, FastCUT and UTOM by "
        "--method. "
        "Built-in phantom data with ground truth; see docs/README.md.",
        "authors": "Unpaired biomedical image-to-image translation project",
        "copyright": "Copyright (c) the project authors",
        "data_source": f"Built-in phantoms (common.phantoms.{name}) by default; see docs/README.md for real data sets",
        "data_type": task["data_type"],
        "image_classes": f"A: {task['a']}; B: {task['b']}",
        "eval_metrics": {
            "val_psnr": "PSNR against aligned ground truth (phantoms)",
            "val_ssim": "SSIM against aligned ground truth (phantoms)",
        },
        "intended_use": "Research only; not for diagnostic use",
        "references": [task["paper"]],
        "network_data_format": {
            "inputs": {"image": fmt(channels_a, task["a"], norm_a)},
            "outputs": {"pred": fmt(channels_b, task["b"], norm_b)},
        },
    }


LOGGING = """[loggers]
keys=root

[handlers]
keys=consoleHandler

[formatters]
keys=fullFormatter

[logger_root]
level=INFO
handlers=consoleHandler

[handler_consoleHandler]
class=StreamHandler
level=INFO
formatter=fullFormatter
args=(sys.stdout,)

[formatter_fullFormatter]
format=%(asctime)s - %(name)s - %(levelname)s - %(message)s
"""

MODELS_README = """Trained weights are not stored in git. Train the bundle (see `docs/README.md`) and copy
`OUTPUT/model.pt` and `OUTPUT/model.json` here to make them the bundle's default for inference (`checkpoint` in
`inference.json`); `python -m monai.bundle ckpt_export` then writes `model.ts` (see the docs).
"""


def compact_json(value, indent: int = 4, width: int = 120, level: int = 0) -> str:
    """JSON as a reader takes it in: a list or object goes on one line where that line fits in ``width``
    characters, else one entry per line (``json.dumps(indent=4)`` spreads even ``[256, 256]`` over four lines)."""
    flat = json.dumps(value)
    pad = " " * (indent * level)
    if not isinstance(value, (list, dict)) or not value or len(pad) + len(flat) <= width:
        return flat
    inner = " " * (indent * (level + 1))
    if isinstance(value, list):
        rows = [inner + compact_json(v, indent, width, level + 1) for v in value]
        return "[\n" + ",\n".join(rows) + "\n" + pad + "]"
    rows = [
        inner + json.dumps(k) + ": " + compact_json(v, indent, width - len(json.dumps(k)) - 2, level + 1)
        for k, v in value.items()
    ]
    return "{\n" + ",\n".join(rows) + "\n" + pad + "}"


def files(name: str, task: dict) -> dict[str, str]:
    """Every generated file of one bundle, relative to the bundle folder, with its text."""
    train = train_config(name, task)
    inference = inference_config(name, task, train)
    out = {
        "configs/train.json": compact_json(train) + "\n",
        "configs/multi_gpu_train.json": compact_json(multi_gpu_config(train)) + "\n",
        "configs/inference.json": compact_json(inference) + "\n",
        "configs/evaluate.json": compact_json(evaluate_config(name, task, inference)) + "\n",
        "configs/metadata.json": compact_json(metadata(name, task)) + "\n",
        "configs/logging.conf": LOGGING,
        "models/README.md": MODELS_README,
        "docs/README.md": docs(name, task),
        "LICENSE": (ROOT / "LICENSE").read_text(),
    }
    return out


def write() -> None:
    """(Re)write the generated files of every bundle."""
    for name, task in TASKS.items():
        for rel, text in files(name, task).items():
            path = ROOT / "bundles" / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        print(f"bundles/{name}: {len(files(name, task))} files")


def check() -> None:
    """Exit with status 1 (printing a diff) if a bundle file differs from what ``write`` would produce."""
    stale = 0
    for name, task in TASKS.items():
        for rel, text in files(name, task).items():
            path = ROOT / "bundles" / name / rel
            current = path.read_text() if path.exists() else ""
            if current != text:
                stale += 1
                sys.stdout.writelines(
                    difflib.unified_diff(
                        current.splitlines(True),
                        text.splitlines(True),
                        f"{path} (committed)",
                        f"{path} (generated)",
                        n=1,
                    )
                )
    if stale:
        sys.exit(f"{stale} bundle file(s) out of date: run python scripts/make_bundles.py write")
    print("bundles are up to date")


if __name__ == "__main__":
    fire.Fire({"write": write, "check": check})

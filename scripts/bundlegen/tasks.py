"""Each bundle's task settings (channels, axes, normalisation, default method and its overrides, phantoms) and the
hyper-parameters and add-ons its configs list.
"""

from __future__ import annotations

import math

from common.methods import METHODS, method_defaults

#: the authors' README recipe (their calcium settings: 3 levels of 8-16-32 features, no norm layer), plus He's gain
#: sqrt(2) on the unit-norm demodulated filters (the reference has none): without a norm layer the activations halve
#: their second moment at every ReLU, the output can go flat and the discriminators win
STABLE_3_LEVELS = {"n_info": 8, "channels": [8, 16, 32], "norm": None, "demod_gain": math.sqrt(2.0)}

#: denoising: the self-supervised term (Neighbor2Neighbor on the noisy inputs) is the fidelity term, weighted so that
#: it leads the adversarial one: two neighbouring pixels of a noisy image share the scene and not the noise, so the
#: translation keeps what the input shows without copying its noise. It replaces the L1 pull towards the input, which
#: pulled the noise back in (the records in results/denoising/ hold the measured effect)
SELF_SUPERVISED = {"identity_warmup": 0, "lambda_selfsup": 100.0}

#: denoising: STABLE's loss weights for its denoising experiments, no cycle term (``lambda_cyc`` 0), U-Nets that pad
#: with replicated edges (``padding_mode``; the reference pads with zeros, a dark frame around every feature map of
#: these bias-free networks, which costs fidelity at the image border), and the adversarial terms at a tenth of the
#: paper's weight (``lambda_adv`` 0.1): the self-supervised term then leads and the discriminators only steer the
#: look of clean images; at full weight validation fidelity swung and fell later in the run (results/denoising/)
STABLE_DENOISING = STABLE_3_LEVELS | {"lambda_cyc": 0.0, "padding_mode": "replicate", "lambda_adv": 0.1}

#: calcium: the polarity hinge with a margin (a structure anchor): the 8-px block means of input and translation
#: must correlate at 0.6 or more (the phantoms' truth does at 0.83), so that nuclei are not invented where the input
#: has none
STRUCTURE_ANCHOR = {"polarity_margin": 0.6}

#: denoising: the same anchor, closer to the truth's own correlation with its noisy input (0.96 on the phantoms,
#: 0.998 on W2S): margin 0.9
DENOISING_ANCHOR = {"polarity_margin": 0.9}

#: if_unmixing: the input is the sum of the two markers, so the mean of the translated channels must follow it
#: closely (the phantoms' truth: r = 1.00 on 8-px blocks): margin 0.9
UNMIXING_ANCHOR = {"polarity_margin": 0.9}

#: if_unmixing: a whole-run pull of the translated channels' mean, times a fitted gain, towards the input
#: (``warmup_mixture``): the mixture is proportional to the sum of its markers, so the markers' mean must follow it
#: pixel by pixel, background included, while the split and the scale stay free
MIXTURE_PULL = {"identity_warmup": "@max_iterations", "lambda_warmup": 2.0, "warmup_mixture": True}


#: the paper's 4-level networks; instance norm in place of its batch norm: at batch 1 batch norm normalises each
#: image by itself in training and by running statistics in inference, which changes the output; instance norm does
#: the former in both
STABLE_4_LEVELS = {"n_info": 3, "channels": [32, 64, 128, 256], "norm": "instance"}


PCT = {"mode": "percentile", "lower": 0.1, "upper": 99.9, "b_min": 0.0, "b_max": 1.0, "clip": False}

#: if_unmixing's markers: one percentile scale for both channels of an image. Per channel, a tile without a
#: mitotic cell had its PH3 background noise stretched to the full range, in training and in the validation truth
PCT_POOLED = PCT | {"channel_wise": False}


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
        "addons": STRUCTURE_ANCHOR,
        "output_dtype": "float32",
        "paper": "STABLE, You et al., Cell Reports Methods 2025: its calcium experiment",
        "references": ("stable",),
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
        "normalization": (PCT, PCT_POOLED),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {},
        "addons": MIXTURE_PULL | UNMIXING_ANCHOR,
        # no "learning_rates": Ui2i's own rate follows its width (width_scaled_lr); the full-size networks keep 2e-4
        # the generator's moving average: on very small real data the raw generator drifts from unseen tiles
        "ema_decay": 0.99,
        "output_dtype": "float32",
        "paper": "Ui2i, NeurIPS 2025: its immunofluorescence unmixing experiment",
        "references": ("ui2i",),
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
        "patch": 128,
        "phantom_size": 256,
        "overrides": {"stable": STABLE_DENOISING},
        "addons": SELF_SUPERVISED | DENOISING_ANCHOR,
        # STABLE at twice its paper rate, with the generator's moving average to smooth the snapshots
        "learning_rates": {"stable": 6e-4},
        "ema_decay": 0.99,
        "output_dtype": "float32",
        "paper": "STABLE, You et al., Cell Reports Methods 2025: its denoising experiments",
        "references": ("stable", "neighbor2neighbor"),
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
        "paper": "Ui2i, NeurIPS 2025: IHC -> H&E for nucleus segmentation",
        "references": ("ui2i",),
        # the learned error head ranks the errors better than the spread over flips here: --uncertainty uses it
        # where the model file has one
        "uncertainty_source": "auto",
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
        "overrides": {"stable": STABLE_3_LEVELS | {"residual": True}},
        # MRI scans come at many voxel sizes (the SPM templates at 2 mm, a clinical T2 at 1 mm in plane): training
        # frames rescaled by 0.5-2x; it scored higher on the templates' own validation slabs too (results/mri_t2_pd/)
        "scale_range": [0.5, 2.0],
        "output_dtype": "float32",
        "paper": "STABLE, You et al., Cell Reports Methods 2025: its MRI experiment, IXI T2 -> PD",
        "references": ("stable",),
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
        "paper": "CycleGAN as in Zhao, arXiv 2026, light-sheet fluorescence to virtual H&E",
        "references": ("lightsheet_he", "stable"),
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
        "paper": "STABLE, You et al., Cell Reports Methods 2025: its virtual nuclear labelling",
        "references": ("stable",),
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
        "paper": "CycleGAN with a DCT low-pass against steganography, after Utz et al.",
        "references": ("dct_steganography", "chu_steganography"),
    },
}


#: what the bundles' docs and metadata cite: authors, title, venue
REFERENCES = {
    "cyclegan": "J.-Y. Zhu, T. Park, P. Isola, A. A. Efros. Unpaired image-to-image translation using "
    "cycle-consistent adversarial networks. ICCV 2017.",
    "stable": "J. Y. You, M. Eom, T.-I. Choi, E.-S. Cho, J. Choi, M. Lee, C. Shin, J. Moon, E. Kim, P. Kim, C.-H. Kim, "
    "Y.-G. Yoon. Preserving spatial and quantitative information in unpaired biomedical image-to-image translation "
    "(STABLE). Cell Reports Methods, 2025.",
    "ui2i": "Unpaired image-to-image translation for segmentation and signal unmixing (Ui2i). NeurIPS 2025; "
    "arXiv:2505.20746.",
    "neighbor2neighbor": "T. Huang, S. Li, X. Jia, H. Lu, J. Liu. Neighbor2Neighbor: self-supervised denoising from "
    "single noisy images. CVPR 2021.",
    "lightsheet_he": "Y. Zhao. Translating light-sheet microscopy images to virtual H&E using CycleGAN. "
    "arXiv:2601.08776, 2026.",
    "dct_steganography": "J. Utz et al. Focus on content, not noise: suppressing CycleGAN steganography for "
    "microscopy image generation. deepmicroscopy.org, FAU Erlangen-Nuremberg.",
    "chu_steganography": "C. Chu, A. Zhmoginov, M. Sandler. CycleGAN, a master of steganography. arXiv:1712.02950, "
    "2017.",
}


ADDONS = {
    "lambda_fsesim": 0.0,
    "fsesim_window": 7,
    "dct_cutoff": 1.0,
    "identity_warmup": "$@max_iterations // 10",
    "lambda_warmup": 5.0,
    "warmup_mixture": False,
    "lambda_polarity": 1.0,
    "polarity_margin": 0.0,
    "polarity_block": 8,
    "polarity_per_channel": False,
    "lambda_mixing": 0.0,
    "augment_d": None,
    "lambda_selfsup": 0.0,
    "selfsup_gamma": 2.0,
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
RUN_RELATIVE = {"stable": {"cyc_ramp_iterations": "@max_iterations"}}


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

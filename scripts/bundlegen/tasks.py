"""Each bundle's task settings (channels, axes, normalisation, default method and its overrides, phantoms) and the
hyper-parameters and add-ons its configs list.
"""

from __future__ import annotations

import math

from common.methods import METHODS, method_defaults

#: the authors' README recipe (their calcium settings), which denoised W2S by 7-8 dB at 1,530 CPU iterations where
#: the paper's 4-level batch-norm networks (run with the authors' code) scored below the input (BENCHMARKS.md);
#: plus He's gain sqrt(2) on the unit-norm demodulated filters (the reference has none): without a norm layer the
#: activations halved their second moment at every ReLU, the output went flat and the discriminators won, on 1 seed
#: of 3 for calcium and denoising phantoms; with it every seed beat the input (BENCHMARKS.md, convergence)
STABLE_3_LEVELS = {"n_info": 8, "channels": [8, 16, 32], "norm": None, "demod_gain": math.sqrt(2.0)}

#: MRI adds ``residual`` (each generator is ``x + decoder(encoder(x))``, starting as the identity): a plain U-Net
#: generator is still a blur of its input after the warm-up and later distorted the anatomy (17.0 / 12.7 dB against
#: the input's 20.7 on the MRI phantoms); residual, 21.2 / 21.1 / 21.2 over 3 seeds, sharp (BENCHMARKS.md). Not for
#: denoising: there the residual generator kept the noise (20.3 / 20.2 dB against 21.7 / 21.0)


#: denoising: the self-supervised term (Neighbor2Neighbor on the noisy inputs) is the fidelity term, weighted so that
#: it leads the adversarial one: two neighbouring pixels of a noisy image share the scene and not the noise, so the
#: translation keeps what the input shows without copying its noise. It replaces the L1 pull towards the input, which
#: pulled the noise back in; with it the translation beat a Gaussian blur of the input on real W2S fields, where the
#: pull and the adversarial terms alone stayed below it (results/README.md)
SELF_SUPERVISED = {"identity_warmup": 0, "lambda_selfsup": 100.0}

#: denoising: paper 001's loss weights for its denoising experiments, no cycle term (``lambda_cyc`` 0). Measured
#: (fp32, 1,000 iterations, seeds 0 / 1 / 2; BENCHMARKS.md, fifth session): denoising phantoms 23.5 / 23.5 / 21.8 dB,
#: PCC >= 0.67, against 25.8 / 22.4 / 20.5 with lambda_cyc 1 ramped (PCC 0.495 on seed 2); W2S 28.1 / 25.2 / 27.4
#: against 26.7 / 26.5 / 27.5
#: and its U-Nets pad with replicated edges (`padding_mode`; the reference pads with zeros, a dark frame around
#: every feature map of these bias-free networks that cost 0.3-0.5 dB at the border). With the margin 0.9 below,
#: 1,000 iterations (BENCHMARKS.md, eighth session): denoising phantoms 26.4 / 27.8 / 27.8 dB (seeds 0-2) against
#: 26.1 / 25.3 / 24.5 with zeros and the margin 0.6; W2S 30.6 / 28.1 / 27.5 against 28.3 / 25.0 / 27.5
STABLE_DENOISING = STABLE_3_LEVELS | {"lambda_cyc": 0.0, "padding_mode": "replicate"}

#: calcium: the polarity hinge with a margin (a structure anchor): the 8-px block means of input and translation
#: must correlate at 0.6 or more (the phantoms' truth does at 0.83). Without it STABLE invented nuclei where the
#: input has none on 2 calcium seeds of 5 (PCC 0.20 / 0.30); with it every seed kept the layout. BENCHMARKS.md,
#: sixth session
STRUCTURE_ANCHOR = {"polarity_margin": 0.6}

#: denoising: the same anchor, closer to the truth's own correlation with its noisy input (0.96 on the phantoms,
#: 0.998 on W2S): margin 0.9. Margin 0.6 added 1.8 dB of median on the phantoms (sixth session); 0.9 adds more
#: for both methods (STABLE seeds 0-2 25.9 / 26.1 / 27.0 against 26.1 / 25.3 / 24.5, CycleGAN 27.4 / 27.4 / 27.1
#: against 27.1 / 27.0 / 26.6 without a margin; BENCHMARKS.md, eighth session)
DENOISING_ANCHOR = {"polarity_margin": 0.9}

#: if_unmixing: the input is the sum of the two markers, so the mean of the translated channels must follow it
#: closely (the phantoms' truth: r = 1.00 on 8-px blocks): margin 0.9. Ui2i left the input's layout on some seeds and
#: inverted or blurred a marker; with it Ui2i and CycleGAN both gained (BENCHMARKS.md, seventh session)
UNMIXING_ANCHOR = {"polarity_margin": 0.9}

#: if_unmixing: the same whole-run pull as denoising, on the translated channels' mean times a fitted gain
#: (``warmup_mixture``): the mixture is proportional to the sum of its markers, so the markers' mean must follow it
#: pixel by pixel, background included, while the split and the scale stay free. Ui2i (1,000 iterations, seeds 0-4):
#: 23.1 / 16.3 / 22.4 / 23.5 / 21.2 dB against 21.4 / 15.9 / 21.7 / 21.9 / 21.4 without a pull (tenth session);
#: with the fitted gain (the mean had been compared as it was, asking each marker for twice its brightness)
#: 24.3 / 16.9 / 22.9 / 26.1 / 22.4 (BENCHMARKS.md, eleventh session)
MIXTURE_PULL = {"identity_warmup": "$@max_iterations", "lambda_warmup": 2.0, "warmup_mixture": True}


#: the paper's 4-level networks; instance norm in place of its batch norm: at batch 1 batch norm normalises each
#: image by itself in training and by running statistics in inference, which changed the output (11.5 against
#: 14.9 dB on denoising phantoms); instance norm does the former in both
STABLE_4_LEVELS = {"n_info": 3, "channels": [32, 64, 128, 256], "norm": "instance"}


PCT = {"mode": "percentile", "lower": 0.1, "upper": 99.9, "b_min": 0.0, "b_max": 1.0, "clip": False}

#: if_unmixing's markers: one percentile scale for both channels of an image. Per channel, a tile without a
#: mitotic cell had its PH3 background noise stretched to the full range, in training and in the validation truth
#: (selection then preferred snapshots that drew noise). Ui2i, 1,000 iterations, seeds 0-4 (BENCHMARKS.md, twelfth
#: session): CellProfiler selected 27.4 / 26.9 / 28.8 / 27.6 / 30.6 dB against 25.9 / 24.5 / 26.9 / 21.8 / 27.3 per
#: channel (input 26.0); phantoms 28.4 / 27.1 / 24.0 / 27.6 / 27.5 against 25.4 / 25.9 / 24.6 / 26.5 / 25.4
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
        "normalization": (PCT, PCT_POOLED),
        "patch": 256,
        "phantom_size": 256,
        "overrides": {},
        "addons": MIXTURE_PULL | UNMIXING_ANCHOR,
        # no "learning_rates": Ui2i's own rate follows its width (width_scaled_lr): 4e-4 closed the slow seeds' gap
        # with the benchmark's CPU networks but stalled the full-size ones, which keep 2e-4 (BENCHMARKS.md,
        # thirteenth and sixteenth sessions)
        # measured (BENCHMARKS.md, nineteenth session): the generator's EMA, once its ABSN norms were its own,
        # narrowed the CellProfiler seed spread (1.26 -> 0.81 dB, 8 seeds) and cost the phantoms nothing
        "ema_decay": 0.99,
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
        "patch": 128,
        "phantom_size": 256,
        "overrides": {"stable": STABLE_DENOISING},
        "addons": SELF_SUPERVISED | DENOISING_ANCHOR,
        # measured (BENCHMARKS.md, ninth session): STABLE at twice its paper rate, with the generator's EMA
        "learning_rates": {"stable": 6e-4},
        "ema_decay": 0.99,
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
        # the learned error head ranked the errors better than the spread over flips (BENCHMARKS.md, "A learned
        # error head"): --uncertainty uses it where the model file has one
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

"""A bundle's ``docs/README.md``: the template ``scripts/bundle_templates/docs.md`` filled with the task's settings
and its prose (``scripts/bundle_templates/tasks/<task>.md``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bundlegen.tasks import POLARITY, hyperparameters
from common.methods import METHODS, method_defaults

#: the docs template and each task's prose
TEMPLATES = Path(__file__).resolve().parents[1] / "bundle_templates"
DOCS = (TEMPLATES / "docs.md").read_text()


def task_prose(name: str) -> dict[str, str]:
    """The hand-written prose of a bundle's docs, from ``bundle_templates/tasks/<name>.md``: its ``## key`` sections
    (``about``, ``input``, ``units``, ``performance``, ``reproduce``) as ``{key: text}``."""
    text = (TEMPLATES / "tasks" / f"{name}.md").read_text()
    parts = re.split(r"^## (\w+)\n", text, flags=re.M)[1:]
    return {key: body.strip() for key, body in zip(parts[::2], parts[1::2], strict=True)}


#: what a task's normalisation measured, after its line (BENCHMARKS.md, twelfth session)
NORMALIZATION_EVIDENCE = {
    "if_unmixing": (
        " (one scale for all channels of an image, `channel_wise` false: a marker absent from an image stays dark, "
        "where a scale per channel stretched its background noise to the full range, in training and in the "
        "validation truth; Ui2i on the CellProfiler dev data, seeds 0-4, 1,000 iterations: 27.4 / 26.9 / 28.8 / "
        "27.6 / 30.6 dB against 25.9 / 24.5 / 26.9 / 21.8 / 27.3 per channel, the input 26.0; if_unmixing phantoms "
        "28.4 / 27.1 / 24.0 / 27.6 / 27.5 against 25.4 / 25.9 / 24.6 / 26.5 / 25.4; at 2,000 iterations and "
        "the paper's rate 28.6 / 32.0 / 30.1 / 31.7 / 32.2 / 28.4 / 28.6 over seeds 0-6 with the benchmark's "
        "CPU-sized networks, input 15.7; 4e-4, the rate such narrow networks now get (below), narrowed that spread "
        "to 0.96 dB: `BENCHMARKS.md`, thirteenth and sixteenth sessions)"
    ),
}


def norm_text(norm: dict) -> str:
    if norm["mode"] == "percentile":
        scope = "per channel" if norm.get("channel_wise", True) else "over all channels together"
        return f"{norm['lower']} / {norm['upper']} percentiles {scope} to 0 / 1" + (
            "" if norm["clip"] else ", not clipped"
        )
    if norm["mode"] == "range":
        return f"fixed range {norm['a_min']:g}..{norm['a_max']:g} to 0 / 1" + (", clipped" if norm["clip"] else "")
    return "none"


def reproduce_text(name: str) -> str:
    """The bundle's real-data commands: the evaluation uses the training command's data set and output folder."""
    text = task_prose(name)["reproduce"]
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


SHORT_WARMUP_TEXT = (
    " An identity warm-up pulls each translation towards its own input during the first 10% of the "
    "run (`identity_warmup`, weight falling from `lambda_warmup` 5 to 0), so training starts in the basin "
    "where bright stays bright."
)


SELF_SUPERVISED_TEXT = (
    " There is no identity pull: its fidelity term is a self-supervised one (`lambda_selfsup` 100, "
    "Neighbor2Neighbor after Huang et al., CVPR 2021): in every 2 x 2 cell of a noisy input two neighbouring pixels "
    "show the same scene with independent noise, so the generator must map one sub-image to the other, after a "
    "fitted gain and offset, and learns what the noise cannot predict; the adversarial terms only choose the "
    "intensities and the look of clean images. A pull towards the noisy input pulled its noise back in. The figures, "
    "with the input, its histogram match and the validated Gaussian blur beside them, are in "
    "`results/README.md` of the repository. `--addons#lambda_selfsup 0` turns it off."
)


MIXTURE_PULL_TEXT = (
    " A mixture pull draws the mean of the translated channels, times a gain fitted per image, towards the "
    "one-channel input over the whole run (`warmup_mixture` true, `identity_warmup` = `max_iterations`, weight "
    "falling from `lambda_warmup` 2 to 0; the reverse translation towards the gain times the mean of its input's "
    "channels): the mixture is proportional to the sum of its markers, so their mean must follow it pixel by "
    "pixel, background included, while which marker goes where, and the scale, stay free. Measured (if_unmixing "
    "phantoms, 1,000 iterations): Ui2i with the ABSN discriminators of the tenth session 24.3 / 16.9 / 22.9 / "
    "26.1 / 22.4 dB (seeds 0-4) against 23.1 / 16.3 / 22.4 / 23.5 / 21.2 when the mean was compared without the "
    "gain and 21.4 / 15.9 / 21.7 / 21.9 / 21.4 without a pull; CycleGAN 21.7 / 21.3 / 21.5 (seeds 0-2) against "
    "21.6 / 21.3 / 21.1 without the gain and 20.9 / 20.3 / 20.7 without a pull. "
    "`--addons#warmup_mixture false` turns it off."
)


def warmup_text(task: dict) -> str:
    """What the task's identity warm-up does: on the channels' mean for a mixture, inactive across other channel
    counts, replaced by the self-supervised term, or over the run's first 10%."""
    if task["channels"][0] != task["channels"][1]:
        if task.get("addons", {}).get("warmup_mixture"):
            return MIXTURE_PULL_TEXT
        return " (The identity warm-up needs the same channel count in both domains and is inactive here.)"
    if task.get("addons", {}).get("lambda_selfsup", 0) > 0:
        return SELF_SUPERVISED_TEXT
    return SHORT_WARMUP_TEXT


#: what the margin was measured to do, per task that sets one (BENCHMARKS.md, sixth session)
MARGIN_EVIDENCE = {
    "calcium": (
        "(the phantoms' truth correlates at 0.83 with its input). Without it STABLE invented nuclei where the input "
        "has none on 2 seeds of 5 (PCC 0.20 and 0.30 against the truth); with it every seed kept the nuclei in place "
        "(22.2-24.5 dB, PCC >= 0.71, seed std 0.97 against 1.92; 1,000 iterations)"
    ),
    "denoising": (
        "(the phantoms' truth correlates at 0.96 with its noisy input, W2S's at 0.998). The margin 0.6 lifted "
        "STABLE on the phantoms from 23.5 / 23.5 / 21.8 to 26.1 / 25.3 / 24.5 dB (seeds 0-2) and kept the final "
        "models from collapsing; 0.9 (now) gave 25.9 / 26.1 / 27.0 with zero padding and CycleGAN 27.4 / 27.4 / 27.1 "
        "against 27.1 / 27.0 / 26.6 without a margin (1,000 iterations)"
    ),
    "if_unmixing": (
        "(the input is the sum of the two markers: the mean of the phantoms' two truth channels correlates at 1.00 "
        "with it). Ui2i (seeds 0-2, 1,000 iterations) scored 21.4 / 15.9 / 21.7 dB with it against 16.9 / 15.3 / "
        "21.5 without, and CycleGAN 20.9 / 20.3 / 20.7 against 20.1 / 20.2 / 18.0; Ui2i's seed 1 then ended with "
        "an inverted membrane channel, which the discriminator's instance norm (below) fixed"
    ),
}


#: what replicated padding and the one-gain selection measured, per Ui2i task (BENCHMARKS.md, seventh session)
UI2I_EVIDENCE = {
    "ihc_he_translation": (
        "Measured on the IHC phantoms (1,000 iterations, `BENCHMARKS.md`, seventh session): 18.3 / 19.3 / 18.8 dB "
        "before (seeds 0-2), 21.5 / 21.1 / 20.7 / 20.6 after (seeds 0-3; SSIM 0.68-0.73, PCC >= 0.94), against "
        "CycleGAN's 21.3 / 21.3 / 21.2 / 21.3 (SSIM 0.66-0.67): 0.4 dB behind on the median PSNR, ahead on SSIM; "
        "ahead on both since the discriminators' instance norm (below)."
    ),
    "if_unmixing": (
        "On the if_unmixing phantoms (dark fluorescence background) the padding matters little: 16.9 / 15.3 / 21.5 "
        "dB (seeds 0-2) against 16.8 / 19.5 / 16.0 before, and CycleGAN's 20.1 / 20.2 / 18.0 (`BENCHMARKS.md`, "
        "seventh session)."
    ),
}


#: what the domain discriminator's instance norm measured (BENCHMARKS.md, eleventh session)
UI2I_DISC_TEXT = (
    'The domain discriminator is a PatchGAN with instance norm (`disc_norm` "instance"; the paper: "a single '
    'PatchGAN"), the content discriminator unnormalised; until the eleventh session both had ABSN ("absn"), and '
    "then barely told real stacks from translated ones. Measured at 1,000 iterations: if_unmixing phantoms (with "
    "the mixture pull) 25.4 / 25.9 / 24.6 / 26.5 / 25.4 dB (seeds 0-4; seed spread 0.72 dB, every PCC >= "
    "0.95; seeds 5 / 6 23.3 / 25.1, spread 1.04 over 7) against 24.3 / 16.9 / 22.9 / 26.1 / 22.4 with ABSN, "
    "whose seed 1 had an inverted membrane channel; "
    "IHC phantoms 22.1 / 21.8 / 21.7 / 21.6 (seeds 0-3) against 21.5 / 21.1 / 20.7 / 20.6 with ABSN and "
    "CycleGAN's 21.3 / 21.3 / 21.2 / 21.3. "
    "`--hyperparameters#ui2i#disc_norm absn` restores the ABSN discriminators."
)

#: Ui2i's learning rate against the generators' width (BENCHMARKS.md, thirteenth, sixteenth, twentieth and
#: twenty-first sessions)
UI2I_RATE_TEXT = (
    "Ui2i's learning rate follows the width of its generators: the paper's 2e-4 at the paper's width (64 features "
    "in the first level, this bundle's networks), `2e-4 * sqrt(64 / features[0])` for others (4e-4 for 16 "
    "features); `--learning_rate X` overrides it. A narrower network needs larger steps. With the convergence "
    "benchmark's CPU-sized networks (16-32-64-128 features) the if_unmixing phantoms scored 31.7 / 34.2 / 32.5 / "
    "32.6 / 31.3 / 31.7 / 32.9 dB at 4e-4 (seeds 0-6, 2,000 iterations; seed spread 0.96 dB) against 28.6 / 32.0 / "
    "30.1 / 31.7 / 32.2 / 28.4 / 28.6 (1.74) at 2e-4, validation preferring 4e-4 on 6 of 7 seeds, and the IHC "
    "phantoms 22.0 / 22.1 / 23.1 / 22.4 (seeds 0-3, 1,000 iterations) against 22.1 / 21.8 / 21.7 / 21.6. This "
    "bundle's full-size networks stalled at 4e-4 on the one seed tried (19.4 dB at 600 iterations against 27.7 at "
    "500 with 2e-4), so they keep the paper's rate. At that rate, with if_unmixing's moving average, six "
    "seeds of them on the if_unmixing phantoms (2,000 iterations, 96-px patches) scored 34.0 / 36.5 / 35.4 / "
    "35.6 / 35.9 / 35.5 dB (seed spread 0.84 dB) against 31.7 / 34.2 / 32.5 / 32.6 / 31.3 / 31.7 for the "
    "CPU-sized networks (raw generator) on the same seeds."
)

#: what a Ui2i task's small real data measured, and the moving average it ships (BENCHMARKS.md, sixteenth and
#: nineteenth sessions)
UI2I_SMALL_DATA_TEXT = {
    "if_unmixing": (
        " On very small real data the generator learns its training tiles and drifts from others: on the "
        "CellProfiler dev data (5 training tiles per domain) every run's best snapshot came early and the final "
        "models were 2-5 dB worse; selection on the validation split picks the early one. So validation, model "
        "selection and both saved models use the generator's exponential moving average (`ema_decay` 0.99, for "
        "every method of this bundle; `--ema_decay null` restores the raw generator). CellProfiler, seeds 0-7, "
        "CPU-sized networks, 2,000 iterations: median 29.8 dB, seed spread 0.81 dB, worst seed 28.9, against 29.4, "
        "1.26 and 27.7 with the raw generator (input 26.0; 3 test tiles per seed); on the if_unmixing phantoms "
        "the average ties the raw generator (31.57 / 34.26 / "
        "31.90 against 31.69 / 34.17 / 31.73 dB, seeds 0 / 1 / 5). The average keeps ABSN's power-iteration "
        "vectors its own (`common.engines.GeneratorEMA`): averaged like other buffers, they had shrunk and the "
        "average ran with weights several times too large, which had cost the phantoms 0.5-1.9 dB before."
    ),
}


#: what replicated padding measured for STABLE's denoising (BENCHMARKS.md, eighth session)
STABLE_PADDING_EVIDENCE = (
    "With the margin 0.9 (1,000 iterations, seeds 0 / 1 / 2): denoising phantoms 26.4 / 27.8 / 27.8 dB against "
    "25.9 / 26.1 / 27.0 with zeros and CycleGAN's 27.4 / 27.4 / 27.1 (over 5 seeds: median 27.75 against "
    "CycleGAN's 27.40, mean 27.28 against 27.39); W2S 30.6 / 28.1 / 27.5 against 28.3 / 25.0 / 27.5 (margin 0.6, "
    "zeros). Replicated padding without the margin scattered (26.5 / 23.8 / 27.8), so the two go together. "
    "`--hyperparameters#stable#padding_mode zeros` restores the reference's padding."
)


STABLE_RATE_EMA_TEXT = (
    "A third departure, measured: STABLE trains at twice the paper's learning rate (`learning_rates` "
    '{"stable": '
    "6e-4}; `learning_rate` is what the optimisers get, and `--learning_rate X` overrides it for any method), and "
    "validation, model selection and both saved models use an exponential moving average of the A -> B generator "
    "(`ema_decay` 0.99, for every method of this bundle). The faster rate let the slow seeds catch up on W2S but "
    "made the snapshots swing by up to 8 dB within a run (seed 3: 23.0 to 30.7); the average smooths them. W2S dev "
    "data, 1,000 iterations, seeds 0-4: 30.3 / 30.1 / 29.6 / 30.4 / 28.0 dB (median 30.1, seed spread 0.98 dB) "
    "against 30.6 / 28.1 / 27.5 / 28.7 / 29.7 (median 28.7, spread 1.23) with 3e-4 and no average; the rate alone "
    "30.2 / 31.2 / 29.6 / 30.7 / 28.0 (spread 1.25), the average alone 30.7 / 27.9 / 26.7 (seeds 0-2). Denoising "
    "phantoms, seeds 0-4: 27.6 / 28.3 / 28.0 / 28.0 / 27.2 (median 28.0) against 26.4 / 27.8 / 27.8 / 26.5 / 27.9 "
    "(median 27.75; the rate alone 26.6 / 25.9 / 27.2 on seeds 0-2); CycleGAN with the average 27.4 / 27.4 / 27.1, "
    "as without it. `--learning_rate 3e-4 --ema_decay null` restores the paper's rate and the raw generator."
)


def margin_text(name: str, task: dict) -> str:
    """What the polarity hinge's margin (the structure anchor) does, where the task sets one."""
    margin = task.get("addons", {}).get("polarity_margin", 0.0)
    if not margin:
        return ""
    return (
        f" Here the hinge also has a margin (`polarity_margin` {margin}): it charges any correlation under {margin}, "
        f"so the coarse layout of the translation cannot drift away from the input's {MARGIN_EVIDENCE[name]}; "
        "`BENCHMARKS.md`. `--addons#polarity_margin 0` turns it off."
    )


def defaults_text(name: str, task: dict) -> str:
    """The paragraph of a bundle's docs that says what its training defaults do and why (measured in
    BENCHMARKS.md)."""
    parts = [
        "Every method trains with two add-ons against the failures measured on the convergence benchmark "
        "(`BENCHMARKS.md`): the unpaired game can settle on an inverted translation (dark where the target is "
        "bright) as easily as on the right one, and STABLE's reference code did so on 8 of 30 seeds of real "
        "denoising data and lost the contrast on a ninth (our STABLE at the same recipe inverted 8 of 30)."
        + warmup_text(task)
        + f" A polarity hinge (`lambda_polarity` 1) penalises only a wrong sign of the correlation between the "
        f"8-pixel block means of input and translation: this task {POLARITY_TEXT[POLARITY[name]]}."
        + margin_text(name, task),
    ]
    if task["method"] == "ui2i":
        parts.append(
            'Ui2i\'s generators pad their convolutions with replicated edge pixels (`padding_mode` "replicate"; '
            "the paper does not say). With zero padding these normalisation-free U-Nets drew a dark frame around "
            "every translation of the IHC phantoms (a white background at 1.0 against the padding's 0), which cost "
            "1-3 dB there. Model selection fits one gain for all channels, as reviews score, so a snapshot of the "
            "wrong colours or channel balance is not chosen. "
            + UI2I_EVIDENCE[name]
            + " "
            + UI2I_DISC_TEXT
            + " "
            + UI2I_RATE_TEXT
            + UI2I_SMALL_DATA_TEXT.get(name, "")
        )
    if task["method"] == "stable":
        parts.append(
            "STABLE follows the authors' code: static demodulated convolutions without biases (the generator "
            "scales its output with its input), an LSGAN discriminator of three stride-2 levels (0.66 M "
            "parameters), information consistency with the reference's stop-gradients, no image pool, a constant "
            "learning rate, and the cycle weight ramped along a sigmoid over the whole run (`cyc_ramp_iterations` "
            "= `max_iterations`)."
        )
        if "demod_gain" in task["overrides"].get("stable", {}):
            parts.append(
                "One departure, measured: the demodulated filters are scaled by He's gain (`demod_gain` sqrt(2)). "
                "The reference's filters have unit norm, so without a norm layer each ReLU halves the activations' "
                "second moment; on 1 seed of 3 of the calcium and of the denoising phantoms the output went flat "
                "(PCC 0.2), the discriminators won early and the run never recovered. With the gain every seed "
                "beat the untranslated input on those phantoms and on W2S (1,000 iterations; `BENCHMARKS.md`); on "
                "the MRI phantoms the gain alone left STABLE under the fitted input (17.0 / 12.7 dB against 20.7, "
                "seeds 0 / 1). Not a guarantee: the seeds do not reproduce across machines, and on a second one "
                "calcium seeds 2 and 4 of 5 lost the nuclei's positions (PCC 0.20 / 0.30) in fp32 until the polarity "
                "hinge got its margin (calcium and denoising); check the validation PCC of a run (`validation.csv`) "
                "before trusting it."
            )
        if task["overrides"].get("stable", {}).get("padding_mode", "zeros") != "zeros":
            parts.append(
                "Another departure, measured: STABLE's U-Nets pad every 3x3 convolution with replicated edge pixels "
                '(`padding_mode` "replicate"; the reference pads with zeros). Zero padding is a dark frame around '
                "every feature map of these bias-free networks, and a noisy background next to it is not: the "
                "outer pixels came out 0.3-0.5 dB worse than the inside. " + STABLE_PADDING_EVIDENCE
            )
        if task.get("learning_rates", {}).get("stable") or task.get("ema_decay"):
            parts.append(STABLE_RATE_EMA_TEXT)
        if task["overrides"].get("stable", {}).get("lambda_cyc") == 0:
            parts.append(
                "The loss weights are those of STABLE's denoising experiments: no cycle term (`lambda_cyc` 0; "
                "the information-consistency and adversarial terms remain). Measured with the identity pull of the "
                "time, before the margin above was added (fp32, "
                "1,000 iterations, seeds 0 / 1 / 2, one machine, `BENCHMARKS.md`): denoising phantoms 23.5 / 23.5 / "
                "21.8 dB, every PCC >= 0.67, against 25.8 / 22.4 / 20.5 with the cycle weight 1 ramped over the run "
                "(seed 2 at PCC 0.495, an embossed translation; seed standard deviation 0.96 dB against 2.69); W2S "
                "dev data 28.1 / 25.2 / 27.4 against 26.7 / 26.5 / 27.5 (median 0.7 dB higher, worst seed 1.4 dB "
                "lower, every seed 5.2 dB or more above the input). `--hyperparameters#stable#lambda_cyc 1` restores "
                "the cycle term."
            )
        if task["overrides"].get("stable", {}).get("residual"):
            parts.append(
                "A second departure, measured: the generators are residual (`residual` true: `x + "
                "decoder(encoder(x))` with the decoder's last convolution zeroed, so training starts from the exact "
                "identity). A U-Net learns the identity slowly (the 3-level generator reproduced W2S images at about "
                "18 dB after 100 L1-only iterations, 25 dB after 1,000: `scripts/benchmark.py identity`), so "
                "the plain generator's translations were blurred and, "
                "later, distorted: 17.0 / 12.7 dB on the MRI phantoms against the fitted input's 20.7. Residual, "
                "3 seeds: 21.2 / 21.1 / 21.2 dB (PCC 0.95-0.96), sharp, ahead of CycleGAN (17.8 / 17.3 / 16.4), "
                "and ahead on the validation split too (val PSNR 17.1-17.6 against 12.9-14.9). What it does not yet "
                "do at 1,000 iterations: change the contrast much. The translation stays close to the T2 input "
                "(0.4-0.5 dB over it, 0.1-0.2 dB over a Gaussian blur of it), so check the tissue contrasts of a "
                "trained model before trusting it (`BENCHMARKS.md`)."
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
    extra = task_prose(name)
    performance = extra.get(
        "performance",
        "Training speed at these defaults has not been measured yet "
        f"(`python scripts/benchmark.py speed --task {name}`).",
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
        norm_b=norm_text(task["normalization"][1]) + NORMALIZATION_EVIDENCE.get(name, ""),
        performance=performance,
        defaults=defaults_text(name, task),
        other_defaults=other_defaults_text(task),
        reproduce=reproduce_text(name),
        uncertainty_source=task.get("uncertainty_source", "spread"),
        objects=(
            "no object metrics (the labels of this task are tissue classes, not instances)."
            if task["segment"] is None
            else "object metrics from segmenting translations - with a Cellpose model given by `--cellpose_model PATH` "
            "(train one from labels with `scripts/train_cellpose.py`), else the classical fallback (Otsu + watershed); "
            "the segmenter is named in every report: counts, precision, recall, F1, segmentation and panoptic quality "
            "against "
            "`D/testB_labels`, and for every input object (`D/testA_labels`) the distance to the nearest translated "
            "object's centroid and their IoU (STABLE Fig. 2D/E)"
            + (
                "; for movies, the correlation of each input ROI's activity trace with its nearest translated ROI's "
                "(STABLE Fig. 2F)."
                if name == "calcium"
                else "."
            )
        ),
    )

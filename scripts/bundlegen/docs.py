"""A bundle's ``docs/README.md``: the template ``scripts/bundle_templates/docs.md`` filled with the task's settings,
its prose (``scripts/bundle_templates/tasks/<task>.md``) and its performance table from the result records
(``results/<task>/*.json``), so that no measured figure is typed by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarking.records import RESULTS, bundle_table, read_records

from bundlegen.tasks import POLARITY, REFERENCES, hyperparameters
from common.evaluation.trivial import default_baselines

#: the docs template and each task's prose
TEMPLATES = Path(__file__).resolve().parents[1] / "bundle_templates"
DOCS = (TEMPLATES / "docs.md").read_text()


def task_prose(name: str) -> dict[str, str]:
    """The hand-written prose of a bundle's docs, from ``bundle_templates/tasks/<name>.md``: its ``## key`` sections
    (``about``, ``input``, ``units``, ``reproduce``) as ``{key: text}``."""
    text = (TEMPLATES / "tasks" / f"{name}.md").read_text()
    parts = re.split(r"^## (\w+)\n", text, flags=re.M)[1:]
    return {key: body.strip() for key, body in zip(parts[::2], parts[1::2], strict=True)}


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
    0: "has no fixed brightness relation, so the hinge is off (`polarity` 0)",
}


def fidelity_text(task: dict) -> str:
    """The fidelity term that keeps a translation on its input: self-supervised, a mixture pull, or a warm-up."""
    add = task.get("addons", {})
    if add.get("lambda_selfsup", 0) > 0:
        return (
            f"- Self-supervised fidelity (`lambda_selfsup` {add['lambda_selfsup']:g}; Neighbor2Neighbor, Huang et al. "
            "CVPR 2021): neighbouring pixels of a noisy input share the scene, not the noise, so the generator maps "
            "one sub-image to the other (after a fitted positive gain) and learns what the noise cannot predict. It "
            "replaces the identity pull, which kept the noise. `--addons#lambda_selfsup 0` turns it off."
        )
    if task["channels"][0] != task["channels"][1]:
        if add.get("warmup_mixture"):
            return (
                "- Mixture pull (`warmup_mixture` true over the whole run, weight falling from `lambda_warmup` 2 to "
                "0): the mixture is proportional to the sum of its markers, so the mean of the translated channels, "
                "times a gain fitted per image, must follow the input pixel by pixel while which marker goes where "
                "stays free. `--addons#warmup_mixture false` turns it off."
            )
        return "- The identity warm-up needs the same channel count in both domains and is inactive here."
    return (
        "- Identity warm-up: during the first 10% of the run each translation is pulled towards its own input "
        "(`identity_warmup`, weight falling from `lambda_warmup` 5 to 0), so training starts where bright stays bright."
    )


def defaults_text(name: str, task: dict) -> str:
    """What the task's training defaults do, one line each, as current facts (the evidence is in the records)."""
    add = task.get("addons", {})
    stable = task["overrides"].get("stable", {})
    lines = [
        fidelity_text(task),
        "- Polarity hinge (`lambda_polarity` 1): penalises a wrong sign of the correlation of input and translation "
        f"(8-pixel block means), against inverted solutions; this task {POLARITY_TEXT[POLARITY[name]]}.",
    ]
    if add.get("polarity_margin"):
        lines.append(
            f"- Structure anchor (`polarity_margin` {add['polarity_margin']}): the hinge also charges any block "
            f"correlation under {add['polarity_margin']}, so the coarse layout cannot drift from the input's."
        )
    if add.get("dct_cutoff", 1.0) < 1.0:
        lines.append(
            f"- DCT low-pass (`dct_cutoff` {add['dct_cutoff']}) on the translation before the cycle, so the cycle "
            "cannot rely on a hidden high-frequency copy of the input (steganography)."
        )
    if task["method"] == "stable":
        lines.append(
            "- STABLE as the authors' code has it, with "
            + ", ".join(
                text
                for key, text in (
                    (
                        "channels",
                        f"a {len(stable.get('channels', [0] * 4))}-level generator ({stable.get('channels')})",
                    ),
                    ("demod_gain", "He's gain on the unit-norm demodulated filters (`demod_gain` sqrt(2))"),
                    ("padding_mode", "replicated padding (`padding_mode`; zeros drew a dark frame)"),
                    ("lambda_cyc", "no cycle term, as in STABLE's denoising experiments (`lambda_cyc` 0)"),
                    ("residual", "residual generators that start as the identity (`residual` true)"),
                    (
                        "lambda_adv",
                        f"the adversarial terms at {stable.get('lambda_adv')} of the paper's weight "
                        "(`lambda_adv`), so that the fidelity term leads",
                    ),
                )
                if key in stable
            )
            + "."
        )
    if task["method"] == "ui2i":
        lines.append(
            "- Ui2i with replicated padding (`padding_mode`), an instance-norm PatchGAN as domain discriminator "
            "(`disc_norm`), one gain for all channels in model selection, and its learning rate scaled with the "
            "generators' width (`2e-4 * sqrt(64 / features[0])`)."
        )
    rate = task.get("learning_rates", {}).get(task["method"])
    if rate:
        lines.append(
            f"- Learning rate {rate:g} for {task['method']} (`learning_rates`; `--learning_rate X` overrides)."
        )
    if task.get("scale_range"):
        low, high = task["scale_range"]
        lines.append(
            f"- Scale augmentation (`scale_range` [{low}, {high}]): every training frame is rescaled by a random "
            "factor in that range before the patch is cut, so that scans of other voxel sizes than the training "
            "data's keep their anatomy. `--scale_range null` turns it off."
        )
    if task.get("ema_decay"):
        lines.append(
            f"- Validation, selection and the saved models use the generator's moving average (`ema_decay` "
            f"{task['ema_decay']}; `--ema_decay null` for the raw generator)."
        )
    departures = [
        f"`{method}`: " + ", ".join(f"`{k}` {json.dumps(v)}" for k, v in given.items())
        for method, given in hyperparameters(task).items()
        if method != task["method"] and given
    ]
    lines.append(
        "- Other methods run with their papers' defaults (`common.methods.method_defaults(NAME)`)"
        + ("; this task sets " + "; ".join(departures) if departures else "")
        + "."
    )
    return "\n".join(lines)


def performance_text(name: str, task: dict, results: Path = RESULTS) -> str:
    """The bundle's measured results (tables from its records), or how to measure them."""
    records = [r for r in read_records(results) if r["task"] == name]
    if not records:
        methods = ",".join(sorted({"cyclegan", task["method"]}))
        return (
            f"No result record for this bundle yet. `python scripts/benchmark.py converge --datasets {name} "
            f"--methods {methods}` writes one "
            f"(`results/{name}/`) with every run's scores, seeds and provenance."
        )
    return "\n\n".join(t for t in map(bundle_table, records) if t) + (
        "\n\nFrom the records in `results/` (`python scripts/benchmark.py report` regenerates every table)."
    )


def references_text(task: dict) -> str:
    keys = dict.fromkeys([*task["references"], "cyclegan"])
    return "\n".join(f"- {REFERENCES[k]}" for k in keys)


def baselines_text(name: str, task: dict) -> str:
    return ", ".join(f"`{b}`" for b in default_baselines(POLARITY[name], denoising=name == "denoising"))


def docs(name: str, task: dict, results: Path = RESULTS) -> str:
    extra = task_prose(name)
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
        performance=performance_text(name, task, results),
        defaults=defaults_text(name, task),
        reproduce=reproduce_text(name),
        uncertainty_source=task.get("uncertainty_source", "spread"),
        baselines=baselines_text(name, task),
        references=references_text(task),
        objects=(
            "no object metrics (this task's labels are tissue classes, not instances)."
            if task["segment"] is None
            else "object metrics from segmenting the translations (a Cellpose model by `--cellpose_model PATH`, "
            "else Otsu + watershed, named in the report): counts, F1, panoptic quality against `D/testB_labels`, "
            "and for every input object its nearest translated object's distance and IoU, with the objects "
            "invented and missed."
        ),
    )

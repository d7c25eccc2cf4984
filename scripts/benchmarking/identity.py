"""How fast a generator learns the identity: each method's A -> B generator alone, trained with L1 to reproduce
its own training patches (no discriminator, no other loss), scored at checkpoints by the PSNR of its output against
its input on the validation images. The identity warm-up of the bundles assumes this is quick; the table says how
quick (and so how blurred a translation still is when the adversarial phase starts). Where the data set has
ground truth (``valB`` paired with ``valA``), a second row per run scores the same outputs against it (review
scores: fitted PSNR / raw PCC, median over the validation images): on noisy data the generator passes through a
denoised blur on its way to reproducing the noise."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from benchmarking.converge import DATASETS, NETWORKS, ROOT
from benchmarking.shared import machine_line

CHECKPOINTS = (25, 50, 100, 200, 400, 700, 1000, 1500, 2000, 3000)


def _items(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(",")


def identity(
    data: str,
    dataset: str = "w2s",
    methods: str | tuple = "stable,cyclegan",
    lrs: str | float | tuple = "3e-4",
    iterations: int = 1000,
    seed: int = 0,
    threads: int = 1,
) -> str:
    """Print (and return) the Markdown table: method, learning rate, identity PSNR at each checkpoint.

    Args:
        data: a prepared data folder of ``dataset`` (``trainA``, and ``valA`` for the scores).
        dataset: the convergence benchmark's data set name (sets the task's bundle, patch and normalisation).
        methods: methods whose bundle generator (with the benchmark's CPU networks) is trained.
        lrs: AdamW learning rates (no weight decay).
        iterations: L1 iterations, batch 1.
        seed: torch seed (weights and patch order).
        threads: torch threads.
    """
    import numpy as np
    import torch

    from common.data import make_unpaired_dataset
    from common.engines import has_ground_truth, validation_items
    from common.methods import make_method
    from common.metrics.review import review_scores

    if int(iterations) < 1:
        raise ValueError(f"iterations must be positive, got {iterations}")
    torch.set_num_threads(int(threads))
    spec = DATASETS[dataset]
    config = json.loads((ROOT / "bundles" / spec["task"] / "configs" / "train.json").read_text())
    patch = [int(spec["patch"])] * int(config["spatial_dims"])
    norm_a = config["normalization_a"]
    train = make_unpaired_dataset(
        Path(data),
        patch_size=patch,
        length=int(iterations),
        seed=int(seed),
        normalization_a=norm_a,
        normalization_b=config["normalization_b"],
    )
    items = validation_items(Path(data), normalization_a=norm_a, normalization_b=config["normalization_b"])
    images = [torch.as_tensor(i["image"]).float()[None] for i in items]
    truths = [np.asarray(i["label"], dtype=np.float64) for i in items] if has_ground_truth(Path(data)) else None
    marks = [c for c in CHECKPOINTS if c <= int(iterations)]
    lines = [
        f"### Identity learning, `{dataset}` A patches ({patch[0]} px, batch 1, AdamW, {threads} thread(s), "
        f"seed {seed})",
        "",
        machine_line(int(threads)),
        "",
        "| method | lr | against | " + " | ".join(f"PSNR @{c}" for c in marks) + " | s |",
        "|---|---|---|" + "---|" * len(marks) + "---|",
    ]
    for method in _items(methods):
        for lr in [float(x) for x in _items(lrs)]:
            torch.manual_seed(int(seed))
            hp = config["hyperparameters"].get(method, {}) | NETWORKS.get(method, {})
            hp = {k: v for k, v in hp.items() if not (isinstance(v, str) and v.startswith(("$", "@")))}  # run-relative
            generator = make_method(method, len(patch), config["channels_a"], config["channels_b"], hp).generator_ab
            optimizer = torch.optim.AdamW(generator.parameters(), lr=lr, weight_decay=0.0)
            scores, truth_scores, started = [], [], time.perf_counter()
            for step in range(1, int(iterations) + 1):
                x = torch.as_tensor(train[step - 1]["A"]).float()[None]
                loss = (generator(x) - x).abs().mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if step in marks:
                    with torch.no_grad():
                        outputs = [generator(v) for v in images]
                    mse = [float(((y - v) ** 2).mean()) for y, v in zip(outputs, images, strict=True)]
                    scores.append(10 * math.log10(1.0 / max(sum(mse) / len(mse), 1e-12)))
                    if truths is not None:
                        review = [review_scores(y.numpy(), t) for y, t in zip(outputs, truths, strict=True)]
                        truth_scores.append([float(np.median([r[k] for r in review])) for k in ("psnr", "pcc")])
            seconds = time.perf_counter() - started
            cells = " | ".join(f"{s:.1f}" for s in scores)
            lines.append(f"| {method} | {lr:g} | input | {cells} | {seconds:.0f} |")
            if truths is not None:
                cells = " | ".join(f"{p:.1f} / {c:.2f}" for p, c in truth_scores)
                lines.append(f"| {method} | {lr:g} | truth (fitted PSNR / PCC) | {cells} | |")
    table = "\n".join(lines) + "\n"
    print(table)
    return table

"""``benchmark.py error_head_cost``: what training the learned error head beside the generators costs per
iteration, for a task's default method with the bundle's networks and with the convergence benchmark's
CPU-sized ones.

Each configuration runs the unpaired trainer on fixed random patches (batch 1, the bundle's patch size or the
benchmark's) for ``iterations`` iterations without and with :class:`~common.engines.ErrorHeadTrainer`, alternated
``rounds`` times, and reports the median seconds per iteration (the first two of each run dropped) and the head's
share. Inference without
``--uncertainty`` runs the generator alone, as before, so its speed is untouched.
"""

from __future__ import annotations

import json
import statistics
from datetime import date
from pathlib import Path

from benchmarking.shared import machine_line, publish, rows_as_runs, step_timer

ROOT = Path(__file__).resolve().parents[2]


def _method(task: str, cpu_networks: bool):
    from monai.bundle import ConfigParser

    from benchmarking.converge import DATASETS, NETWORKS
    from common.methods import make_method

    parser = ConfigParser(json.loads((ROOT / "bundles" / task / "configs" / "train.json").read_text()))
    name = parser["method"]
    hyperparameters = dict(parser.get_parsed_content("hyperparameters")[name])
    patch = list(parser["patch_size"])
    if cpu_networks:
        hyperparameters |= NETWORKS.get(name, {})
        patch = [int(DATASETS[task]["patch"])] * len(patch)
    addons = parser.get_parsed_content("addons")
    method = make_method(name, parser["spatial_dims"], parser["channels_a"], parser["channels_b"], hyperparameters,
                         addons)  # fmt: skip
    return method, patch


def _iteration_seconds(task: str, cpu_networks: bool, head: bool, iterations: int) -> list[float]:
    import torch
    from ignite.engine import Events

    from common.engines import ErrorHeadTrainer, UnpairedTrainer

    torch.manual_seed(0)
    method, patch = _method(task, cpu_networks)
    batches = [
        {"A": torch.rand(1, method.channels_a, *patch), "B": torch.rand(1, method.channels_b, *patch)}
        for _ in range(iterations)
    ]
    opt_g, opt_d = method.make_optimizers()
    handlers = [ErrorHeadTrainer(method)] if head else []
    trainer = UnpairedTrainer("cpu", iterations, batches, method, opt_g, opt_d, train_handlers=handlers)
    times: list[float] = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, step_timer(times))
    trainer.run()
    return [b - a for a, b in zip(times[1:-1], times[2:], strict=True)]


def error_head_cost(
    tasks: str | tuple = "ihc_he_translation,calcium", iterations: int = 8, rounds: int = 2, threads: int = 1,
    networks: str | tuple = "bundle,cpu", append: str | None = None, track: bool = False,
    tracking_uri: str | None = None,
) -> str:  # fmt: skip
    """Seconds per training iteration with and without the error head (``networks``: the bundle's, the
    benchmark's CPU-sized ones, or both), ``rounds`` alternations of ``iterations`` each; prints (and appends) a
    Markdown table."""
    import torch

    torch.set_num_threads(int(threads))
    kinds = networks.split(",") if isinstance(networks, str) else list(networks)
    if not kinds or set(kinds) - {"bundle", "cpu"}:
        raise ValueError(f"networks must be 'bundle', 'cpu' or both, got {networks!r}")
    if int(iterations) < 3:
        raise ValueError(f"iterations must be at least 3 (two are dropped), got {iterations}")
    rows = []
    for task in tasks.split(",") if isinstance(tasks, str) else tasks:
        for cpu_networks in [kind == "cpu" for kind in kinds]:
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(int(rounds)):  # alternated, so that a drift of the machine's speed hits both alike
                for head in (False, True):
                    times[head] += _iteration_seconds(task, cpu_networks, head, iterations)
            without, with_head = statistics.median(times[False]), statistics.median(times[True])
            method, patch = _method(task, cpu_networks)
            rows.append({
                "method": f"{task} {method.name} ({'CPU' if cpu_networks else 'bundle'} networks, patch {patch[0]})",
                "without_s": without, "with_s": with_head, "share": with_head / without - 1,
            })  # fmt: skip
    lines = [
        f"### Training cost of the learned error head ({date.today().isoformat()})",
        "",
        f"{machine_line(torch.get_num_threads())}; batch 1, fp32, random patches; median over {rounds} alternated "
        f"rounds of {iterations} iterations each (the first two of each dropped).",
        "",
        "| task, method, networks | s/iteration without the head | with it | cost of the head |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['method']} | {r['without_s']:.3f} | {r['with_s']:.3f} | {100 * r['share']:+.0f}% |" for r in rows]
    table = "\n".join(lines) + "\n"
    publish(table, append, "error_head_cost", rows_as_runs(rows, {"threads": threads}), track, tracking_uri)
    return table

"""Sample grids (input | translation | cycle) written as PNG during training, and logged to MLflow when a run is
being tracked."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events

from common.engines.mlflow_logging import active_mlflow_run
from common.io.png_writer import write_png

__all__ = ["to_display", "SampleGridSaver"]


def to_display(image: torch.Tensor) -> np.ndarray:
    """``(C, *S)`` -> 8-bit ``(3, H, W)`` for viewing: 3 channels as RGB, 2 as magenta/green, 1 as grey; the
    middle slice of 3D images; each image stretched between its 1st and 99th percentiles."""
    x = image.detach().float().cpu()
    if x.ndim == 4:
        x = x[:, x.shape[1] // 2]
    x = x.numpy()
    lo, hi = np.percentile(x, 1), np.percentile(x, 99)
    x = np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    if x.shape[0] == 1:
        x = np.repeat(x, 3, axis=0)
    elif x.shape[0] == 2:
        x = np.stack([x[0], x[1], x[0]])
    else:
        x = x[:3]
    return np.rint(x * 255).astype(np.uint8)


class SampleGridSaver:
    """Every ``interval`` iterations, translate (and cycle) fixed A samples and save one grid row per sample.

    Args:
        output_dir: folder for ``samples/iter_NNNNNN.png``.
        method: the method being trained.
        samples: a ``(N, C, *S)`` batch of A images, or items with an ``image`` each (e.g. the validation items).
        interval: iterations between grids.
        max_samples: how many of the items to show (a batch is shown whole).
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        method,
        samples: torch.Tensor | Sequence[Mapping],
        interval: int = 100,
        max_samples: int = 2,
    ):
        self.folder = Path(output_dir) / "samples"
        if not isinstance(samples, torch.Tensor):
            samples = torch.stack([torch.as_tensor(item["image"]) for item in list(samples)[: int(max_samples)]])
        self.method, self.samples, self.interval = method, samples, int(interval)

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_COMPLETED(every=self.interval), self)
        engine.add_event_handler(Events.COMPLETED, self)

    @torch.no_grad()
    def __call__(self, engine: Engine) -> Path:
        was_training = self.method.training
        self.method.eval()
        device = next(self.method.parameters()).device
        a = self.samples.to(device)
        rows = [to_display(x) for x in a]
        fake = self.method.translate(a)
        rec = self.method.cycle(a)
        grid = []
        for i in range(a.shape[0]):
            cells = [rows[i], to_display(fake[i])] + ([to_display(rec[i])] if rec is not None else [])
            grid.append(np.concatenate(cells, axis=2))
        if was_training:
            self.method.train()
        path = self.folder / f"iter_{engine.state.iteration:06d}.png"
        write_png(path, np.concatenate(grid, axis=1), overwrite=True)
        run = active_mlflow_run(engine)
        if run is not None:
            client, run_id = run
            client.log_artifact(run_id, str(path), artifact_path="samples")
        return path

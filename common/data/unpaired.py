"""A dataset that draws an A and a B sample independently: the unpaired training setting."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.data.utils import set_rnd
from monai.transforms import Randomizable

__all__ = ["UnpairedDataset"]


class UnpairedDataset(Randomizable, torch.utils.data.Dataset):
    """Zip two domain datasets without pairing them.

    Item ``i`` is ``{"A": data_a[i % len(a)]["image"], "B": data_b[j]["image"], "A_file": ..., "B_file": ...}``
    where ``j`` is drawn uniformly at random and independently of ``i``, so that no A sample is tied to a B
    sample across epochs. Each domain dataset (typically a MONAI ``CacheDataset`` whose transform ends in random
    slicing, cropping and augmentation) applies its own transforms.

    With ``seed`` set, item ``i`` is a pure function of ``(seed, i)``: the B draw and every random transform are
    seeded from them before the item is made, so a resumed run (or any number of DataLoader workers) sees the
    same samples as an uninterrupted one. Without it, MONAI's usual per-worker seeding applies.

    Args:
        data_a: domain A dataset of dicts with an ``image`` key.
        data_b: domain B dataset of dicts with an ``image`` key.
        length: samples per epoch; default ``max(len(data_a), len(data_b))``.
        image_key: key of the image in the domain datasets' items.
        seed: make items deterministic by index (see above).
    """

    def __init__(
        self,
        data_a: Sequence,
        data_b: Sequence,
        length: int | None = None,
        image_key: str = "image",
        seed: int | None = None,
    ):
        if len(data_a) == 0 or len(data_b) == 0:
            raise ValueError("both domains need at least one sample")
        if length is not None and int(length) < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.data_a, self.data_b = data_a, data_b
        self.length = int(length) if length is not None else max(len(data_a), len(data_b))
        self.image_key = image_key
        self.seed = None if seed is None else int(seed)

    def __len__(self) -> int:
        return self.length

    def randomize(self, data=None) -> int:
        return int(self.R.randint(len(self.data_b)))

    def __getitem__(self, index: int) -> dict:
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        if self.seed is not None:
            index = index % self.length
            draw = np.random.RandomState(_mix(self.seed, index, 0))
            self.R = draw
            for k, data in enumerate((self.data_a, self.data_b), start=1):
                transform = getattr(data, "transform", None)
                if hasattr(transform, "set_random_state"):
                    transform.set_random_state(seed=_mix(self.seed, index, k))
        a = self.data_a[index % len(self.data_a)]
        b = self.data_b[self.randomize()]
        return {
            "A": _plain(a[self.image_key]),
            "B": _plain(b[self.image_key]),
            "A_file": _filename(a[self.image_key]),
            "B_file": _filename(b[self.image_key]),
        }

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        """Seed the B draw and, with derived seeds, every random transform of both domains.

        MONAI's ``set_rnd`` stops at the first object with ``set_random_state``; forwarding here keeps the
        domain transforms seeded per DataLoader worker.
        """
        super().set_random_state(seed, state)
        base = int(seed) if seed is not None else int(self.R.randint(2**31 - 1))
        set_rnd(self.data_b, set_rnd(self.data_a, base + 1) + 1)
        return self


def _mix(*values: int) -> int:
    """A 31-bit seed from integers (stable across processes, unlike hash())."""
    return int(np.random.SeedSequence([int(v) for v in values]).generate_state(1)[0] % (2**31 - 1))


def _plain(image) -> torch.Tensor:
    return image.as_tensor() if hasattr(image, "as_tensor") else torch.as_tensor(image)


def _filename(image) -> str:
    meta = getattr(image, "meta", None) or {}
    return str(meta.get("filename_or_obj", ""))

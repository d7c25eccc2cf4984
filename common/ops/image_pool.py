"""Image pool (Shrivastava et al.; CycleGAN): show the discriminator past fakes as well as new ones."""

from __future__ import annotations

import torch

__all__ = ["ImagePool"]


class ImagePool:
    """Buffer of up to ``size`` generated images.

    For each image of a batch: while the pool is filling, the image is stored and returned; once full, with
    probability ``swap_probability`` a random stored image is returned and replaced by the new one, otherwise
    the new image is returned. ``size=0`` disables the pool. The state (images and random generator) can be
    saved and restored for exact resumption.

    Args:
        size: number of images kept (CycleGAN: 50).
        swap_probability: chance of returning a stored image once full (0.5).
        seed: seed of the pool's own random generator.
    """

    def __init__(self, size: int = 50, swap_probability: float = 0.5, seed: int = 0):
        if size < 0:
            raise ValueError(f"size must be non-negative, got {size}")
        if not 0 <= swap_probability <= 1:
            raise ValueError(f"swap_probability must be in [0, 1], got {swap_probability}")
        self.size, self.swap_probability = int(size), float(swap_probability)
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape mixing new and stored images (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) < self.swap_probability:
                index = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[index].clone().to(image.device))
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, dim=0)

    def state_dict(self) -> dict:
        return {
            "size": self.size,
            "swap_probability": self.swap_probability,
            "images": [im.cpu() for im in self.images],
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.size, self.swap_probability = int(state["size"]), float(state["swap_probability"])
        self.images = [im.clone() for im in state["images"]]
        self.generator.set_state(state["generator"])

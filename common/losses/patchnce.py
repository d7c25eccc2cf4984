"""PatchNCE (CUT, Park et al. 2020): corresponding patches of input and output, embedded by small MLP heads on
chosen encoder layers, should match each other more than other patches of the same image.

Negatives come from the same image (CUT's default), so the loss uses the per-device batch with no
communication between processes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PatchSampleMLP", "patch_nce_loss", "PatchNCELoss"]


class PatchSampleMLP(nn.Module):
    """Sample the same random locations from several feature maps and embed them with one MLP per layer.

    Args:
        in_channels: channels of each feature layer.
        embed_dim: output dimension (CUT: 256).
        num_patches: locations sampled per image (CUT: 256).
    """

    def __init__(self, in_channels: list[int] | tuple[int, ...], embed_dim: int = 256, num_patches: int = 256):
        super().__init__()
        if not in_channels:
            raise ValueError("in_channels must list at least one layer")
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, embed_dim), nn.ReLU(inplace=True), nn.Linear(embed_dim, embed_dim))
            for c in in_channels
        )
        self.num_patches = int(num_patches)

    def forward(
        self, features: list[torch.Tensor], patch_ids: list[torch.Tensor] | None = None, generator=None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Embed sampled locations.

        Args:
            features: one ``(B, C_l, *S_l)`` map per layer.
            patch_ids: locations to use (from a previous call, so queries and keys correspond); drawn when None.

        Returns:
            ``(embeddings, patch_ids)``: per layer ``(B, P, embed_dim)`` L2-normalised, and the locations used.
        """
        if len(features) != len(self.mlps):
            raise ValueError(f"expected {len(self.mlps)} feature maps, got {len(features)}")
        out, ids = [], []
        for i, (feat, mlp) in enumerate(zip(features, self.mlps, strict=True)):
            flat = feat.flatten(2).transpose(1, 2)  # (B, S, C)
            if patch_ids is None:
                n = min(self.num_patches, flat.shape[1])
                index = torch.randperm(flat.shape[1], generator=generator, device="cpu")[:n].to(flat.device)
            else:
                index = patch_ids[i]
            out.append(F.normalize(mlp(flat[:, index]), dim=-1))
            ids.append(index)
        return out, ids


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """InfoNCE between ``query`` (output patches) and ``key`` (input patches), ``(B, P, D)`` each, normalised.

    For patch ``p`` the positive is ``key[:, p]`` and the negatives are the other patches of the same image.
    """
    if query.shape != key.shape:
        raise ValueError(f"query and key shapes differ: {tuple(query.shape)} vs {tuple(key.shape)}")
    key = key.detach()
    b, p, _ = query.shape
    logits = torch.bmm(query, key.transpose(1, 2)) / temperature  # (B, P, P): diagonal = positives
    return F.cross_entropy(logits.reshape(b * p, p), torch.arange(p, device=query.device).repeat(b))


class PatchNCELoss(nn.Module):
    """Mean :func:`patch_nce_loss` over layers: ``loss(queries, keys)`` with per-layer lists."""

    def __init__(self, temperature: float = 0.07):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, queries: list[torch.Tensor], keys: list[torch.Tensor]) -> torch.Tensor:
        losses = [patch_nce_loss(q, k, self.temperature) for q, k in zip(queries, keys, strict=True)]
        return torch.stack(losses).mean()

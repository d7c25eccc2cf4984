"""Losses of the seed methods. Cycle, identity and STABLE's information consistency are plain L1 distances
(``torch.nn.functional.l1_loss``) between the tensors each method names."""

from common.losses.adversarial import FAKE, GAN_MODES, IDENTITY, REAL, GANLoss, stacked_domain_loss
from common.losses.contrastive import npair_contrastive_loss
from common.losses.fsesim import fsesim_loss, self_similarity
from common.losses.laplace import laplace_nll
from common.losses.patchnce import PatchNCELoss, PatchSampleMLP, patch_nce_loss
from common.losses.polarity import low_resolution_correlation, polarity_loss
from common.losses.saliency import saliency_consistency_loss, soft_mask

__all__ = [
    "FAKE",
    "GAN_MODES",
    "GANLoss",
    "IDENTITY",
    "PatchNCELoss",
    "PatchSampleMLP",
    "REAL",
    "fsesim_loss",
    "laplace_nll",
    "low_resolution_correlation",
    "npair_contrastive_loss",
    "patch_nce_loss",
    "polarity_loss",
    "saliency_consistency_loss",
    "self_similarity",
    "soft_mask",
    "stacked_domain_loss",
]

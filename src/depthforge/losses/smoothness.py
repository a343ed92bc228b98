"""Edge-aware disparity smoothness (Godard et al. 2017, Eq. 3; monodepth2 ``get_smooth_loss``)."""

from __future__ import annotations

import torch
from torch import nn

from depthforge.losses._common import check_map, float32_loss


@float32_loss
def edge_aware_smoothness(
    disparity: torch.Tensor, image: torch.Tensor, *, normalize: bool = True, eps: float = 1e-7
) -> torch.Tensor:
    """``mean|∂x d*|·e^{−mean_c|∂x I|} + mean|∂y d*|·e^{−mean_c|∂y I|}``.

    ``d* = d / (mean_{H,W} d + 1e-7)`` per image (monodepth2's mean normalisation, which
    stops the term from favouring shrinking disparity); ``∂`` are forward neighbour
    differences, and the x and y terms are averaged **separately**, each over its own
    ``H × (W − 1)`` / ``(H − 1) × W`` grid. monodepth2 weights it by 1e-3 / 2^scale.

    Args:
        disparity: ``(B, 1, H, W)`` disparity (or any inverse-depth-like map).
        image: ``(B, C, H, W)`` guide image at the same resolution (monodepth2 uses the
            non-augmented target frame).
        normalize: apply the mean normalisation (False = Godard 2017 without it).
        eps: the normalisation's epsilon (1e-7).

    Returns:
        Scalar.
    """
    check_map("disparity", disparity)
    check_map("image", image, channels=None)
    if image.shape[0] != disparity.shape[0] or image.shape[-2:] != disparity.shape[-2:]:
        raise ValueError(
            f"image {tuple(image.shape)} and disparity {tuple(disparity.shape)} must share B, H, W"
        )
    if normalize:
        disparity = disparity / (disparity.mean((2, 3), keepdim=True) + eps)
    grad_disp_x = (disparity[..., :, :-1] - disparity[..., :, 1:]).abs()
    grad_disp_y = (disparity[..., :-1, :] - disparity[..., 1:, :]).abs()
    grad_img_x = (image[..., :, :-1] - image[..., :, 1:]).abs().mean(1, keepdim=True)
    grad_img_y = (image[..., :-1, :] - image[..., 1:, :]).abs().mean(1, keepdim=True)
    return (grad_disp_x * torch.exp(-grad_img_x)).mean() + (
        grad_disp_y * torch.exp(-grad_img_y)
    ).mean()


class EdgeAwareSmoothness(nn.Module):
    """Module form of :func:`edge_aware_smoothness`."""

    def __init__(self, normalize: bool = True) -> None:
        super().__init__()
        self.normalize = normalize

    def forward(self, disparity, image):
        return edge_aware_smoothness(disparity, image, normalize=self.normalize)

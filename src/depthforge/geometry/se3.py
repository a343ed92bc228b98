"""SE(3) helpers for pose networks: axis-angle (Rodrigues), 6-DoF vectors to 4×4 matrices and
the SE(3) exponential of twists."""

from __future__ import annotations

import torch


def skew(v: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` → ``(..., 3, 3)`` cross-product matrix ``[v]×`` (``[v]× w = v × w``)."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    rows = (zero, -z, y, z, zero, -x, -y, x, zero)
    return torch.stack(rows, dim=-1).unflatten(-1, (3, 3))


def axis_angle_to_matrix(axis_angle: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Rodrigues' formula ``R = I + (sin θ/θ)[w]× + ((1 − cos θ)/θ²)[w]×²`` with θ = |w|.

    Below ``θ < eps`` (and to keep gradients finite at 0) the coefficients use their Taylor
    series ``1 − θ²/6`` and ``1/2 − θ²/24``.

    Args:
        axis_angle: ``(..., 3)`` rotation vectors (axis × angle in radians).

    Returns:
        ``(..., 3, 3)`` rotation matrices.

    Example:
        >>> import math
        >>> R = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2]))
        >>> [round(x, 6) + 0.0 for x in R[:, 0].tolist()]
        [0.0, 1.0, 0.0]
    """
    if axis_angle.shape[-1] != 3:
        raise ValueError(f"axis_angle must be (..., 3), got {tuple(axis_angle.shape)}")
    theta2 = (axis_angle * axis_angle).sum(-1, keepdim=True)[..., None]  # (..., 1, 1)
    small = theta2 < eps**2
    safe2 = torch.where(small, torch.ones_like(theta2), theta2)
    safe = safe2.sqrt()
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(safe) / safe)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(safe)) / safe2)
    k = skew(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a * k + b * (k @ k)


def se3_exp(twist: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """SE(3) exponential of twists ``ξ = [ω (3), v (3)]`` → ``(..., 4, 4)`` ``[[R, V v], [0, 1]]``.

    ``R`` is Rodrigues' :func:`axis_angle_to_matrix` of ``ω`` and
    ``V = I + ((1 − cos θ)/θ²)[ω]× + ((θ − sin θ)/θ³)[ω]×²`` (the closed form of the group
    exponential, as in Sophus ``SE3::exp``); below ``θ < eps`` the coefficients use their Taylor series
    ``1/2 − θ²/24`` and ``1/6 − θ²/120``. Unlike :func:`pose_vec_to_matrix` (translation taken
    as is) this is the true group exponential: ``se3_exp(ξ)⁻¹ = se3_exp(−ξ)`` and
    ``se3_exp(sξ) se3_exp(tξ) = se3_exp((s + t)ξ)``. Used by the Gauss-Newton pose updates of
    :mod:`depthforge.geometry.direct`.

    Args:
        twist: ``(..., 6)`` rotation (axis × angle, radians) then translation.

    Example:
        >>> T = se3_exp(torch.tensor([0.0, 0.0, 0.0, 1.0, 2.0, 3.0]))
        >>> T[:3, 3].tolist()
        [1.0, 2.0, 3.0]
    """
    if twist.shape[-1] != 6:
        raise ValueError(f"twist must be (..., 6), got {tuple(twist.shape)}")
    omega, v = twist[..., :3], twist[..., 3:]
    theta2 = (omega * omega).sum(-1, keepdim=True)[..., None]  # (..., 1, 1)
    small = theta2 < eps**2
    safe2 = torch.where(small, torch.ones_like(theta2), theta2)
    safe = safe2.sqrt()
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(safe)) / safe2)
    c = torch.where(small, 1.0 / 6.0 - theta2 / 120.0, (safe - torch.sin(safe)) / (safe2 * safe))
    k = skew(omega)
    eye = torch.eye(3, dtype=twist.dtype, device=twist.device)
    V = eye + b * k + c * (k @ k)
    top = torch.cat([axis_angle_to_matrix(omega), V @ v[..., None]], dim=-1)
    bottom = torch.zeros_like(top[..., :1, :])
    bottom[..., 0, 3] = 1.0
    return torch.cat([top, bottom], dim=-2)


def pose_vec_to_matrix(pose: torch.Tensor, invert: bool = False) -> torch.Tensor:
    """6-DoF vectors ``[axis-angle (3), translation (3)]`` → ``(..., 4, 4)`` rigid transforms.

    ``T = [[R, t], [0, 1]]``; with ``invert=True`` returns ``T⁻¹ = [[Rᵀ, −Rᵀt], [0, 1]]`` (used by
    monodepth2 for source frames before the target).

    Args:
        pose: ``(..., 6)``; translation in the unit of the scene (metres or relative).
    """
    if pose.shape[-1] != 6:
        raise ValueError(f"pose must be (..., 6), got {tuple(pose.shape)}")
    rot = axis_angle_to_matrix(pose[..., :3])
    t = pose[..., 3:, None]
    if invert:
        rot = rot.transpose(-1, -2)
        t = -rot @ t
    top = torch.cat([rot, t], dim=-1)
    bottom = torch.zeros_like(top[..., :1, :])
    bottom[..., 0, 3] = 1.0
    return torch.cat([top, bottom], dim=-2)

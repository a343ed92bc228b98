"""Which device a command computes on: ``--device auto|cpu|cuda|cuda:N|mps``.

``auto`` (the default of every command that runs a network) picks the first CUDA GPU when
PyTorch sees one, else Apple's ``mps`` when present, else the CPU. A device that was asked for
by name but is not there is an error with one line, never a silent fall-back to the CPU.
"""

from __future__ import annotations

from depthforge.errors import DepthforgeError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
"""What ``--device`` accepts (``cuda:N`` for the N-th GPU)."""


def choose_device(name: str = "auto"):
    """The :class:`torch.device` for ``name`` (module docstring).

    Raises:
        DepthforgeError: ``name`` is not a device, or names one this machine does not have.
    """
    import torch

    text = name.strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        mps = getattr(torch.backends, "mps", None)
        return (
            torch.device("mps") if mps is not None and mps.is_available() else torch.device("cpu")
        )
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise DepthforgeError(
            f"--device {name!r} is not a device; use one of {', '.join(DEVICE_CHOICES)}"
        ) from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DepthforgeError(
                f"--device {name}: PyTorch sees no CUDA GPU here (a CPU-only build, or no driver); "
                "use --device cpu"
            )
        index = 0 if device.index is None else device.index
        if index >= count:
            raise DepthforgeError(
                f"--device {name}: there are only {count} CUDA GPUs (0–{count - 1})"
            )
        return torch.device("cuda", index)
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DepthforgeError(
                f"--device {name}: Apple's MPS is not available here; use --device cpu"
            )
        return device
    raise DepthforgeError(
        f"--device {name!r}: depthforge runs on {', '.join(DEVICE_CHOICES)}, not {device.type}"
    )

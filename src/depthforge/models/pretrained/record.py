"""A released checkpoint of a paper, described as data: where it lives, how to convert it, what
it was trained on, under which licence, and what the paper reports for it.

A record never downloads anything by itself; :mod:`depthforge.models.pretrained.load` resolves it
(cache → download → convert → model folder) only when a pretrained name is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from depthforge.types import OutputSpace


@dataclass(frozen=True)
class PaperResult:
    """Numbers a paper reports for a released model under one of depthforge's protocols.

    Attributes:
        protocol: a name known to :func:`depthforge.eval.get_protocol` (e.g. ``"nyu_fcrn"``).
        metrics: depthforge metric name (``abs_rel``, ``rmse``, ``a1`` …) → the paper's value,
            in depthforge's units (fractions, metres).
        source: where the numbers are printed (``"Table 1, ResNet-UpProj"``).
        align: the alignment the paper applied before scoring (``"median"``), or ``None``.
    """

    protocol: str
    metrics: Mapping[str, float]
    source: str
    align: str | None = None


@dataclass(frozen=True)
class PretrainedWeights:
    """One released checkpoint.

    Attributes:
        name: the pretrained name users type (``"fcrn_nyu"``).
        model: the registered architecture it loads into (a key of ``models.MODELS``).
        config: overrides of that architecture's registered config.
        urls: the original download URL(s), first tried first; a mirror may follow.
        file_name: the name of the downloaded file in the cache.
        sha256: hex digest of the downloaded file, or ``None`` where it is not known (the
            digest is then printed after the download so users can record it).
        md5: hex MD5 digest where the release publishes only that (monodepth2), else ``None``.
        release_format: key of the converter in ``converters.CONVERTERS`` that turns the file
            into a state dict of ``model``.
        paper: short citation (``"Laina et al. 2016, Deeper Depth Prediction with FCRN"``).
        training_data: what it was trained on (``"NYU Depth v2 (raw, 12k frames)"``).
        output_space: what its depth output means.
        licence: the licence's name as the release states it.
        commercial_use: False when the licence forbids commercial use (stated before download).
        metric_scale: factor that turns the output into metres where the paper defines one
            (monodepth2 stereo: 5.4), else ``None``.
        size_mb: size of the download in megabytes, approximately.
        results: the paper's numbers for this checkpoint.
        notes: anything a user must know (e.g. "input resized to 640×192").
    """

    name: str
    model: str
    urls: tuple[str, ...]
    file_name: str
    release_format: str
    paper: str
    training_data: str
    output_space: OutputSpace
    licence: str
    commercial_use: bool
    sha256: str | None = None
    md5: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    metric_scale: float | None = None
    size_mb: float | None = None
    results: tuple[PaperResult, ...] = ()
    notes: str = ""

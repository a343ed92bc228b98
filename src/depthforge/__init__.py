"""depthforge: monocular depth estimation, the classic literature in one PyTorch toolkit."""

from depthforge.types import OutputSpace, Sample, Stereo

__version__ = "0.1.0"

__all__ = ["OutputSpace", "Sample", "Stereo", "__version__"]

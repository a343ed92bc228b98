"""Loss functions of the depth-estimation literature, one module per family.

Every loss is a pure function (computed in float32 with autocast disabled, masks respected,
0 plus a warning when nothing is valid) and a thin ``nn.Module`` wrapper.
"""

from depthforge.losses.berhu import BerHuLoss, berhu_loss, berhu_penalty
from depthforge.losses.flow_consistency import (
    GeoNetFlowLoss,
    flow_consistency_loss,
    forward_backward_check,
    geonet_flow_loss,
)
from depthforge.losses.gradient import EigenGradientLoss, eigen_gradient_loss
from depthforge.losses.megadepth import (
    MegaDepthLoss,
    is_euclidean_image,
    megadepth_gradient_loss,
    megadepth_loss,
    megadepth_ordinal_loss,
)
from depthforge.losses.photometric import (
    MinReprojectionLoss,
    PhotometricError,
    explainability_regularizer,
    min_reprojection_loss,
    photometric_error,
    ssim_dissimilarity,
)
from depthforge.losses.ranking import (
    RankingLoss,
    XianRankingLoss,
    edge_guided_pairs,
    ordinal_relations,
    random_pairs,
    ranking_loss,
    ranking_penalty,
    sample_xian_pairs,
    sampled_ranking_loss,
    sobel_edges,
    xian_ranking_loss,
)
from depthforge.losses.scale_invariant import (
    AdaBinsSILogLoss,
    BTSSILogLoss,
    ScaleInvariantLoss,
    adabins_silog_loss,
    bts_silog_loss,
    scale_invariant_loss,
)
from depthforge.losses.set_loss import SetLoss, masked_mse, set_loss
from depthforge.losses.smoothness import EdgeAwareSmoothness, edge_aware_smoothness
from depthforge.losses.ssi import (
    RobustScaleAndShiftInvariantLoss,
    ScaleAndShiftInvariantLoss,
    compute_scale_and_shift,
    gradient_matching_term,
    normalize_robust,
    robust_scale_and_shift_invariant_loss,
    scale_and_shift_invariant_loss,
    trimmed_mae,
)
from depthforge.losses.stereo import (
    SparseInverseDepthLoss,
    StereoAlignmentLoss,
    appearance_matching_loss,
    sparse_inverse_depth_loss,
    stereo_alignment_loss,
)

__all__ = [
    "AdaBinsSILogLoss",
    "BTSSILogLoss",
    "BerHuLoss",
    "EdgeAwareSmoothness",
    "EigenGradientLoss",
    "GeoNetFlowLoss",
    "flow_consistency_loss",
    "forward_backward_check",
    "geonet_flow_loss",
    "MegaDepthLoss",
    "MinReprojectionLoss",
    "PhotometricError",
    "RankingLoss",
    "RobustScaleAndShiftInvariantLoss",
    "ScaleAndShiftInvariantLoss",
    "ScaleInvariantLoss",
    "SetLoss",
    "SparseInverseDepthLoss",
    "StereoAlignmentLoss",
    "XianRankingLoss",
    "adabins_silog_loss",
    "appearance_matching_loss",
    "berhu_loss",
    "berhu_penalty",
    "bts_silog_loss",
    "compute_scale_and_shift",
    "edge_aware_smoothness",
    "edge_guided_pairs",
    "eigen_gradient_loss",
    "explainability_regularizer",
    "gradient_matching_term",
    "is_euclidean_image",
    "masked_mse",
    "megadepth_gradient_loss",
    "megadepth_loss",
    "megadepth_ordinal_loss",
    "min_reprojection_loss",
    "normalize_robust",
    "ordinal_relations",
    "photometric_error",
    "random_pairs",
    "ranking_loss",
    "ranking_penalty",
    "robust_scale_and_shift_invariant_loss",
    "sample_xian_pairs",
    "sampled_ranking_loss",
    "scale_and_shift_invariant_loss",
    "scale_invariant_loss",
    "set_loss",
    "sobel_edges",
    "sparse_inverse_depth_loss",
    "ssim_dissimilarity",
    "stereo_alignment_loss",
    "trimmed_mae",
    "xian_ranking_loss",
]

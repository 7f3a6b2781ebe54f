"""segloss_xp: segmentation losses written once against the array API standard.

The same function runs on NumPy, CuPy, PyTorch, JAX (and ``array_api_strict``)
arrays and returns an array of the input's namespace, device and (float32 or
float64) dtype; gradients come from the caller's framework.
"""

from ._inputs import check_inputs
from ._options import get_option, options
from .boundary import boundary_dice_loss, boundary_loss, cldice_loss, hausdorff_dt_loss
from .compound import bce_dice_loss, combo_loss, deep_supervision, dice_ce_loss, dice_focal_loss
from .distance import distance_transform_edt, signed_distance_map, unet_weight_map
from .lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from .metrics import (
    average_surface_distance,
    confusion_counts,
    dice_score,
    hausdorff_distance,
    iou_score,
    normalized_surface_dice,
)
from .pixel import balanced_cross_entropy, conservative_loss, cross_entropy, focal_loss
from .region import (
    dice_loss,
    exp_log_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    mcc_loss,
    region_loss_from_stats,
    soft_confusion,
    tversky_loss,
)

__version__ = "0.2.0"

__all__ = [
    "__version__",
    "average_surface_distance",
    "balanced_cross_entropy",
    "bce_dice_loss",
    "boundary_dice_loss",
    "boundary_loss",
    "check_inputs",
    "cldice_loss",
    "combo_loss",
    "confusion_counts",
    "conservative_loss",
    "cross_entropy",
    "deep_supervision",
    "dice_ce_loss",
    "dice_focal_loss",
    "dice_loss",
    "dice_score",
    "distance_transform_edt",
    "exp_log_loss",
    "focal_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "get_option",
    "hausdorff_distance",
    "hausdorff_dt_loss",
    "iou_score",
    "jaccard_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "mcc_loss",
    "normalized_surface_dice",
    "options",
    "region_loss_from_stats",
    "signed_distance_map",
    "soft_confusion",
    "tversky_loss",
    "unet_weight_map",
]

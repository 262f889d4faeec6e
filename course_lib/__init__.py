"""course_lib: the small library behind "Attention, step by step".

Run on NumPy (CPU) or CuPy (NVIDIA GPU): ``course_lib.use("cupy")`` or the environment
variable ``COURSE_LIB_BACKEND``. ``course_lib.xp`` is the selected array module, for
creating arrays in the notebooks.
"""

from typing import Any

from . import backend
from .attention import (
    attention_scores,
    causal_mask,
    dot_product,
    merge_heads,
    multi_head_attention,
    padding_mask,
    scale_scores,
    scaled_dot_product_attention,
    softmax,
    split_heads,
    weighted_sum,
)
from .backend import BackendUnavailableError, asarray, name, namespace, to_numpy, use
from . import plot  # noqa: E402  the course's figure style, set once for every notebook (see plot.STYLE)

__all__ = [
    "BackendUnavailableError",
    "asarray",
    "attention_scores",
    "backend",
    "causal_mask",
    "dot_product",
    "merge_heads",
    "multi_head_attention",
    "name",
    "namespace",
    "padding_mask",
    "scale_scores",
    "scaled_dot_product_attention",
    "softmax",
    "split_heads",
    "to_numpy",
    "use",
    "weighted_sum",
    "xp",
]


def __getattr__(attr: str) -> Any:
    # `course_lib.xp` (and `from course_lib import xp`) always gives the backend selected now.
    if attr == "xp":
        return backend.xp
    raise AttributeError(f"module 'course_lib' has no attribute {attr!r}")

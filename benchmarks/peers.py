"""Import helpers for the peer libraries the benchmarks compare against.

Every helper imports lazily and raises :class:`PeerMissing` (with the pip line
that installs the peer) when the peer is absent, so that a missing peer shows
as an ``n/a`` row instead of an error.

segmentation-models-pytorch is special: ``import segmentation_models_pytorch``
runs the package ``__init__``, which imports torchvision and timm. PyPI's
torchvision next to the CPU torch wheel fails to import (``operator
torchvision::nms does not exist``), and we install smp with ``--no-deps``
anyway. Its ``losses`` subpackage needs only torch and numpy, so
:func:`smp_losses` registers an empty package module carrying smp's
``__path__`` and imports ``segmentation_models_pytorch.losses`` beneath it,
without running the package ``__init__``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__all__ = [
    "PEER_PIP_LINES",
    "PeerMissing",
    "import_peer",
    "kornia_losses",
    "monai_losses",
    "monai_metrics",
    "optax_losses",
    "peer_versions",
    "smp_losses",
]

#: how to install each peer into an environment that already has torch 2.13 (CPU)
PEER_PIP_LINES = {
    "monai": "pip install monai==1.6.1",
    "optax": "pip install 'optax>=0.2.8'",
    "kornia": "pip install kornia==0.9.0",
    "segmentation_models_pytorch": "pip install --no-deps segmentation-models-pytorch==0.6.0",
    "scipy": "pip install 'scipy>=1.13'",
    "cupy": "pip install cupy-cuda12x (a CUDA machine only)",
}

_SMP = "segmentation_models_pytorch"


class PeerMissing(ImportError):
    """A peer library is not installed (the row is reported as ``n/a``)."""


def import_peer(name: str, dist: str) -> Any:
    """``import name``, or :class:`PeerMissing` naming the pip line of ``dist``."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        line = PEER_PIP_LINES.get(dist, f"pip install {dist}")
        raise PeerMissing(f"{dist} not installed ({line}): {exc}") from exc


def monai_losses() -> Any:
    """``monai.losses``."""
    return import_peer("monai.losses", "monai")


def monai_metrics() -> Any:
    """``monai.metrics``."""
    return import_peer("monai.metrics", "monai")


def kornia_losses() -> Any:
    """``kornia.losses``."""
    return import_peer("kornia.losses", "kornia")


def optax_losses() -> Any:
    """``optax.losses``."""
    return import_peer("optax.losses", "optax")


def smp_losses() -> Any:
    """``segmentation_models_pytorch.losses`` without the package ``__init__`` (see above)."""
    full = f"{_SMP}.losses"
    if full in sys.modules:
        return sys.modules[full]
    if _SMP not in sys.modules:
        spec = importlib.util.find_spec(_SMP)  # locates the package; runs no code of it
        if spec is None or spec.submodule_search_locations is None:
            raise PeerMissing(
                f"segmentation-models-pytorch not installed ({PEER_PIP_LINES[_SMP]})")
        stub = types.ModuleType(_SMP)
        stub.__path__ = list(spec.submodule_search_locations)
        stub.__doc__ = "stub package: only .losses is imported (benchmarks.peers)"
        sys.modules[_SMP] = stub
    try:
        return importlib.import_module(full)
    except ImportError as exc:
        raise PeerMissing(f"segmentation_models_pytorch.losses failed to import: {exc}") from exc


def peer_versions() -> dict[str, str]:
    """Installed versions of the frameworks and peers (from metadata; imports nothing)."""
    from importlib import metadata

    out: dict[str, str] = {}
    for dist in ("torch", "numpy", "scipy", "jax", "jaxlib", "array-api-compat", "monai",
                 "optax", "kornia", "segmentation-models-pytorch", "cupy", "segloss_xp"):
        out[dist] = "not installed"
        # CuPy's wheels are named by CUDA version
        names = (dist, "cupy-cuda13x", "cupy-cuda12x") if dist == "cupy" else (dist,)
        for name in names:
            try:
                out[dist] = metadata.version(name)
                break
            except metadata.PackageNotFoundError:
                continue
    return out

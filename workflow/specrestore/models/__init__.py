"""Keras 3 models: ``cnn8`` (seed 0), ``unet`` (seeds 1, 3, 4), ``pix2pix`` (seed 3)
and ``mfccnet`` (seed 2). Spectrogram models take (frequency, frames, 1) patches of
the normalised corrupted magnitude and, for inpainting, the missing-bin mask. The
complex U-Net ``cunet`` restores the complex spectrum (magnitude and phase) instead."""

from __future__ import annotations

from .blocks import KeepKnownBins
from .cnn8 import build_cnn8
from .complex_unet import ComplexMask, ComplexRestorationLoss, CorrectInsideHoles, MaskAroundOne, build_complex_unet
from .mfccnet import build_mfccnet
from .pix2pix import Pix2Pix, build_patchgan, build_pix2pix
from .unet import build_unet

MODELS = ("cnn8", "unet", "pix2pix", "mfccnet", "cunet")
SPECTROGRAM_MODELS = ("cnn8", "unet", "pix2pix")

__all__ = [
    "MODELS",
    "SPECTROGRAM_MODELS",
    "ComplexMask",
    "ComplexRestorationLoss",
    "CorrectInsideHoles",
    "KeepKnownBins",
    "MaskAroundOne",
    "Pix2Pix",
    "build_cnn8",
    "build_complex_unet",
    "build_mfccnet",
    "build_patchgan",
    "build_pix2pix",
    "build_unet",
]

"""Building blocks shared by the models, written with keras.layers and keras.ops only
so that they run on any Keras 3 backend."""

from __future__ import annotations

import keras
from keras import layers, ops


def conv_block(x, filters: int, kernel_size=3, name: str | None = None):
    """Conv2D -> BatchNormalization -> LeakyReLU(0.2)."""
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=name and f"{name}_conv")(x)
    x = layers.BatchNormalization(name=name and f"{name}_bn")(x)
    return layers.LeakyReLU(0.2, name=name and f"{name}_act")(x)


@keras.saving.register_keras_serializable(package="specrestore")
class KeepKnownBins(layers.Layer):
    """Inpainting output: the prediction where bins are missing, the input elsewhere,
    so that known bins come out exactly as they went in."""

    def call(self, inputs):
        prediction, corrupted, missing = inputs
        return ops.where(missing > 0.5, prediction, corrupted)


def spectrogram_inputs(n_freq: int, n_frames: int | None, with_mask: bool):
    """The model inputs: the corrupted spectrogram (freq, frames, 1) and, for
    inpainting, the missing-bin mask of the same shape. Returns (inputs, features)."""
    corrupted = keras.Input((n_freq, n_frames, 1), name="corrupted")
    if not with_mask:
        return [corrupted], corrupted
    missing = keras.Input((n_freq, n_frames, 1), name="missing")
    return [corrupted, missing], layers.Concatenate(name="with_mask")([corrupted, missing])


def finish(inputs, prediction, name: str, keep_known: bool):
    """Wrap up a spectrogram model; ``keep_known`` (inpainting without noise, where the
    known bins are clean) passes the input through outside the mask."""
    if keep_known:
        if len(inputs) != 2:
            raise ValueError("keeping the known bins needs the missing-bin mask as an input")
        prediction = KeepKnownBins(name="keep_known_bins")([prediction, inputs[0], inputs[1]])
    return keras.Model(inputs, prediction, name=name)

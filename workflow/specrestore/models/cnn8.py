"""Seed 0 (Audio-Signal-Prediction): eight Conv2D -> BatchNormalization -> LeakyReLU
blocks over the magnitude spectrogram, fully convolutional (any number of frames)."""

from __future__ import annotations

from .blocks import conv_block, finish, spectrogram_inputs


def build_cnn8(
    n_freq: int,
    n_frames: int | None = None,
    with_mask: bool = True,
    keep_known: bool = True,
    filters: int = 32,
    kernel_size=(5, 5),
):
    inputs, x = spectrogram_inputs(n_freq, n_frames, with_mask)
    for index in range(7):
        x = conv_block(x, filters, kernel_size, name=f"block{index + 1}")
    # The eighth block maps back to one channel, as the published model does.
    prediction = conv_block(x, 1, kernel_size, name="block8")
    return finish(inputs, prediction, "cnn8", keep_known and with_mask)

"""U-Net (seeds 1, 3 and 4; Pix2Pix's generator): an encoder-decoder with skip
connections over (frequency, frames) patches. The frequency axis is zero-padded to a
multiple of 2**depth inside the model and cropped back, so any STFT size works
(seed 0's 1025 bins, seed 1's 128)."""

from __future__ import annotations

from keras import layers

from .blocks import conv_block, finish, spectrogram_inputs


def padding(size: int, depth: int) -> int:
    step = 2**depth
    return (-size) % step


def unet_body(x, depth: int, filters: int, dropout: float = 0.0):
    """Encoder, bottleneck and decoder with skip connections; the output has ``filters``
    channels at the input's resolution (shared by the U-Net and the complex U-Net)."""
    skips = []
    for level in range(depth):
        width = filters * 2**level
        x = conv_block(x, width, name=f"down{level}_a")
        x = conv_block(x, width, name=f"down{level}_b")
        skips.append(x)
        x = layers.MaxPooling2D(name=f"pool{level}")(x)
    x = conv_block(x, filters * 2**depth, name="bottom_a")
    x = conv_block(x, filters * 2**depth, name="bottom_b")
    if dropout:
        x = layers.Dropout(dropout, name="bottom_dropout")(x)
    for level in reversed(range(depth)):
        width = filters * 2**level
        x = layers.Conv2DTranspose(width, 2, strides=2, name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = conv_block(x, width, name=f"up{level}_a")
        x = conv_block(x, width, name=f"up{level}_b")
    return x


def build_unet(
    n_freq: int,
    n_frames: int,
    with_mask: bool = True,
    keep_known: bool = True,
    depth: int = 3,
    filters: int = 16,
    dropout: float = 0.0,
    output_activation: str | None = None,
    name: str = "unet",
):
    if n_frames % 2**depth:
        raise ValueError(f"U-Net of depth {depth} needs patches of a multiple of {2**depth} frames, got {n_frames}")
    inputs, x = spectrogram_inputs(n_freq, n_frames, with_mask)
    pad = padding(n_freq, depth)
    if pad:
        x = layers.ZeroPadding2D(((0, pad), (0, 0)), name="pad_frequency")(x)
    x = unet_body(x, depth, filters, dropout)
    prediction = layers.Conv2D(1, 1, activation=output_activation, name="prediction")(x)
    if pad:
        prediction = layers.Cropping2D(((0, pad), (0, 0)), name="crop_frequency")(prediction)
    return finish(inputs, prediction, name, keep_known and with_mask)

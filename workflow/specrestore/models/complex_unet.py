"""Complex U-Net (``cunet``): restores the complex spectrum, magnitude and phase, so
nothing inside a hole is left to Griffin-Lim or to the corrupted phase.

Input and output are power-law compressed spectra, ``|X|**c * exp(i angle X)`` as
(real, imaginary) channels (Braun & Tashev 2021, c = 0.3): compression evens out the
range of speech spectra as a log would, and stays defined at zero and differentiable
for the phase.

- holes (gaps, lost packets, band holes; ``with_mask``): the input is the corrupted
  spectrum with a classical first fill (LPC for dropouts; nothing for band holes) and
  the missing-bin mask; inside the holes only, the network rescales and turns the fill
  (a complex gain) and adds to it, so known bins pass through unchanged and an
  untrained network is the classical fill.
- noise (``denoise``): a bounded complex ratio mask multiplies the noisy spectrum, as
  in DCCRN (Hu et al. 2020), here ``1 + change`` with each part of the change through
  tanh and starting at zero, so that an untrained network passes the noisy input
  through (a mask that starts near zero returns near silence until training moves it);
  with holes as well, the correction inside them comes on top. Given a first estimate
  instead of the noisy spectrum (RNNoise's output, ``model_options.cunet.noise_fill``),
  the same mask corrects that estimate and an untrained network is RNNoise.

The loss (:class:`ComplexRestorationLoss`) sees both the spectrum and the waveform:
compressed complex and magnitude errors, and an L1 error of the patch's waveform
(inverse FFT and overlap-add written with ``keras.ops``).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from .blocks import conv_block
from .unet import padding, unet_body


@keras.saving.register_keras_serializable(package="specrestore")
class CorrectInsideHoles(layers.Layer):
    """``spectrum + missing * (gain * spectrum + offset)``, complex ``gain`` and
    ``offset`` from the four channels of ``correction``: inside the holes the fill is
    rescaled, turned and added to; known bins come out as they went in."""

    def call(self, inputs):
        spectrum, missing, correction = inputs
        change = complex_product(spectrum, correction[..., :2]) + correction[..., 2:]
        return spectrum + missing * change


@keras.saving.register_keras_serializable(package="specrestore")
class ComplexMask(layers.Layer):
    """A complex mask (two channels, real and imaginary) applied to a complex spectrum.
    Kept so that models saved before :class:`MaskAroundOne` still load."""

    def call(self, inputs):
        spectrum, mask = inputs
        return complex_product(spectrum, mask)


@keras.saving.register_keras_serializable(package="specrestore")
class MaskAroundOne(layers.Layer):
    """The complex mask ``1 + change`` applied to a complex spectrum: a change of zero
    passes the spectrum through."""

    def call(self, inputs):
        spectrum, change = inputs
        return spectrum + complex_product(spectrum, change)


def complex_product(a, b):
    """Bin-wise product of two complex tensors held as (..., 2) real and imaginary parts."""
    re, im = a[..., :1], a[..., 1:]
    b_re, b_im = b[..., :1], b[..., 1:]
    return ops.concatenate([re * b_re - im * b_im, re * b_im + im * b_re], axis=-1)


@keras.saving.register_keras_serializable(package="specrestore")
class AlongFrequency(layers.Layer):
    """A learnt linear map across the whole frequency axis, the same for every frame
    and channel (PHASEN's frequency transformation, Yin et al. 2020): harmonics and
    formants far apart in frequency reach each other in one step, where convolutions
    see a few bins."""

    def build(self, input_shape):
        n_freq = input_shape[1]
        self.kernel = self.add_weight(shape=(n_freq, n_freq), initializer="glorot_uniform", name="kernel")

    def call(self, x):
        return ops.einsum("bftc,fg->bgtc", x, self.kernel)


def frequency_transform(x, name: str):
    """``x`` joined with its map across frequency, mixed back to ``x``'s channels."""
    channels = x.shape[-1]
    across = AlongFrequency(name=f"{name}_along_frequency")(x)
    x = layers.Concatenate(name=f"{name}_join")([x, across])
    return conv_block(x, channels, kernel_size=1, name=name)


def build_complex_unet(
    n_freq: int,
    n_frames: int,
    with_mask: bool = True,
    denoise: bool = False,
    depth: int = 3,
    filters: int = 16,
    frequency_transforms: bool = False,
    name: str = "cunet",
):
    """The network for (n_freq, n_frames) patches of compressed complex spectra: inputs
    ``spectrum`` (n_freq, n_frames, 2) and, ``with_mask``, ``missing`` (n_freq, n_frames, 1)."""
    if not (with_mask or denoise):
        raise ValueError("a complex U-Net either fills holes (with_mask) or denoises, or both")
    if n_frames % 2**depth:
        raise ValueError(f"U-Net of depth {depth} needs patches of a multiple of {2**depth} frames, got {n_frames}")
    spectrum = keras.Input((n_freq, n_frames, 2), name="spectrum")
    inputs = [spectrum]
    x = spectrum
    if with_mask:
        missing = keras.Input((n_freq, n_frames, 1), name="missing")
        inputs.append(missing)
        x = layers.Concatenate(name="with_mask")([spectrum, missing])
    pad = padding(n_freq, depth)
    if pad:
        x = layers.ZeroPadding2D(((0, pad), (0, 0)), name="pad_frequency")(x)
    if frequency_transforms:
        x = conv_block(x, filters, name="into_frequency_transform")
        x = frequency_transform(x, "first_frequency_transform")
    x = unet_body(x, depth, filters)
    if frequency_transforms:
        x = frequency_transform(x, "last_frequency_transform")
    output = spectrum

    def head(units, activation, initializer, head_name):
        y = layers.Conv2D(units, 1, activation=activation, kernel_initializer=initializer, name=head_name)(x)
        return layers.Cropping2D(((0, pad), (0, 0)), name=f"{head_name}_crop")(y) if pad else y

    if denoise:
        # Starts at zero: before training the model returns the noisy input.
        output = MaskAroundOne(name="apply_mask")([output, head(2, "tanh", "zeros", "mask_change")])
    if with_mask:
        # Starts at zero: before training the model returns the classical fill.
        correction = head(4, None, "zeros", "correction")
        output = CorrectInsideHoles(name="correct_inside_holes")([output, missing, correction])
    return keras.Model(inputs, output, name=name)


def _overlap_add_kernel(n_fft: int) -> np.ndarray:
    # conv_transpose with an identity kernel places frame t's sample k at t*hop + k.
    return np.eye(n_fft, dtype=np.float32)[:, None, :]


@keras.saving.register_keras_serializable(package="specrestore")
class ComplexRestorationLoss(keras.losses.Loss):
    """``(1 - a) * |Y|c-error + a * Yc-error`` (mean squares of compressed magnitude and
    compressed complex spectrum; a = ``complex_weight``) plus ``waveform_weight`` times
    the L1 error of the patch's waveform relative to the batch's mean absolute target value.
    ``y_true`` and ``y_pred`` are (batch, freq, frames, 2) compressed spectra."""

    def __init__(
        self,
        n_fft: int,
        hop: int,
        compress: float = 0.3,
        complex_weight: float = 0.3,
        waveform_weight: float = 0.05,
        window: str = "hann",
        overestimate_weight: float = 1.0,
        name: str = "complex_restoration",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.n_fft, self.hop, self.compress, self.window = n_fft, hop, compress, window
        self.complex_weight, self.waveform_weight = complex_weight, waveform_weight
        self.overestimate_weight = overestimate_weight

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "hop": self.hop, "compress": self.compress,
                "complex_weight": self.complex_weight, "waveform_weight": self.waveform_weight,
                "window": self.window, "overestimate_weight": self.overestimate_weight}  # fmt: skip

    def call(self, y_true, y_pred):
        mag_true = ops.sqrt(ops.sum(ops.square(y_true), axis=-1) + 1e-12)
        mag_pred = ops.sqrt(ops.sum(ops.square(y_pred), axis=-1) + 1e-12)
        squared = ops.square(mag_pred - mag_true)
        if self.overestimate_weight != 1.0:
            # Residual noise is magnitude left above the clean one: weighing it more
            # trades a little speech distortion for a quieter background.
            squared = ops.where(mag_pred > mag_true, self.overestimate_weight * squared, squared)
        magnitude_error = ops.mean(squared, axis=(1, 2))
        complex_error = ops.mean(ops.square(y_pred - y_true), axis=(1, 2, 3))
        loss = (1 - self.complex_weight) * magnitude_error + self.complex_weight * complex_error
        if self.waveform_weight:
            wave_true, wave_pred = self.waveform(y_true), self.waveform(y_pred)
            error = ops.mean(ops.abs(wave_pred - wave_true), axis=1)
            # Relative to the batch's level, not each patch's: a patch of near silence
            # divided by its own level outweighed the rest and made training jump.
            loss = loss + self.waveform_weight * error / (ops.mean(ops.abs(wave_true)) + 1e-4)
        return loss

    def waveform(self, compressed):
        """(batch, samples): the windowed inverse FFT of each frame, overlap-added."""
        import scipy.signal

        magnitude = ops.sqrt(ops.sum(ops.square(compressed), axis=-1) + 1e-12)
        scale = ops.power(magnitude, 1 / self.compress - 1)
        re = ops.transpose(compressed[..., 0] * scale, (0, 2, 1))  # (batch, frames, freq)
        im = ops.transpose(compressed[..., 1] * scale, (0, 2, 1))
        frames = ops.irfft((re, im), fft_length=self.n_fft)
        window = scipy.signal.get_window(self.window, self.n_fft, fftbins=True).astype(np.float32)
        frames = frames * ops.convert_to_tensor(window)
        kernel = ops.convert_to_tensor(_overlap_add_kernel(self.n_fft))
        return ops.conv_transpose(frames, kernel, strides=self.hop, padding="valid")[..., 0]

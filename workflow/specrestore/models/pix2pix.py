"""Seed 3's Pix2Pix: a U-Net generator and a PatchGAN discriminator trained with the
adversarial loss plus 100 x L1 (Isola et al. 2017), Adam 2e-4 with beta_1 0.5.

The models are keras.layers only. The training step is necessarily backend-specific
(gradients): it is written for TensorFlow and PyTorch; with JAX, train the other
models or switch backend.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .unet import build_unet


def build_patchgan(n_freq: int, n_frames: int, with_mask: bool = True, filters: int = 32, layers_count: int = 3):
    """Scores overlapping patches of (condition, candidate) as real or fake; outputs
    logits on a coarse grid."""
    condition = keras.Input((n_freq, n_frames, 2 if with_mask else 1), name="condition")
    candidate = keras.Input((n_freq, n_frames, 1), name="candidate")
    x = layers.Concatenate()([condition, candidate])
    for index in range(layers_count):
        x = layers.Conv2D(filters * 2**index, 4, strides=2, padding="same", name=f"d_conv{index}")(x)
        if index:
            x = layers.BatchNormalization(name=f"d_bn{index}")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(filters * 2**layers_count, 4, padding="same", name="d_conv_last")(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    logits = layers.Conv2D(1, 4, padding="same", name="patch_logits")(x)
    return keras.Model([condition, candidate], logits, name="patchgan")


class Pix2Pix(keras.Model):
    """Holds the generator and discriminator; ``fit`` runs :meth:`train_step`."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, l1_weight: float = 100.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = l1_weight
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "g_adversarial", "g_l1", "d_loss")}

    def compile(self, learning_rate: float = 2e-4, beta_1: float = 0.5, **kwargs):
        # fit() wants an optimizer of its own; plain SGD holds no per-variable state, and
        # built now it matches what BackupAndRestore builds when it restores.
        super().compile(optimizer=keras.optimizers.SGD(), **kwargs)
        self.optimizer.build(self.trainable_variables)
        self.g_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
        self.d_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
        # Built before training so that checkpoints always hold their state.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _condition(self, inputs):
        return ops.concatenate(inputs, axis=-1) if isinstance(inputs, (list, tuple)) else inputs

    def _gan_losses(self, inputs, target, training):
        fake = self.generator(inputs, training=training)
        condition = self._condition(inputs)
        real_logits = self.discriminator([condition, target], training=training)
        fake_logits = self.discriminator([condition, fake], training=training)
        d_loss = self.bce(ops.ones_like(real_logits), real_logits) + self.bce(ops.zeros_like(fake_logits), fake_logits)
        g_adversarial = self.bce(ops.ones_like(fake_logits), fake_logits)
        g_l1 = ops.mean(ops.abs(target - fake))
        return g_adversarial + self.l1_weight * g_l1, g_adversarial, g_l1, d_loss

    def _record(self, g_total, g_adversarial, g_l1, d_loss):
        for name, value in zip(("loss", "g_adversarial", "g_l1", "d_loss"), (g_total, g_adversarial, g_l1, d_loss)):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            return self._train_step_tensorflow(data)
        if backend == "torch":
            return self._train_step_torch(data)
        raise NotImplementedError(f"Pix2Pix training is written for the tensorflow and torch backends, not {backend}")

    def _train_step_tensorflow(self, data):
        import tensorflow as tf

        inputs, target = data
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            g_total, g_adversarial, g_l1, d_loss = self._gan_losses(inputs, target, training=True)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_total, g_vars), g_vars))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        return self._record(g_total, g_adversarial, g_l1, d_loss)

    def _train_step_torch(self, data):
        import torch

        inputs, target = data
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.zero_grad()
        g_total, g_adversarial, g_l1, d_loss = self._gan_losses(inputs, target, training=True)
        g_grads = torch.autograd.grad(g_total, [v.value for v in g_vars], retain_graph=True)
        d_grads = torch.autograd.grad(d_loss, [v.value for v in d_vars])
        with torch.no_grad():
            self.g_optimizer.apply(g_grads, g_vars)
            self.d_optimizer.apply(d_grads, d_vars)
        return self._record(g_total, g_adversarial, g_l1, d_loss)

    def test_step(self, data):
        inputs, target = data
        g_total, g_adversarial, g_l1, d_loss = self._gan_losses(inputs, target, training=False)
        return self._record(g_total, g_adversarial, g_l1, d_loss)


def build_pix2pix(
    n_freq: int,
    n_frames: int,
    with_mask: bool = True,
    keep_known: bool = True,
    depth: int = 3,
    filters: int = 16,
    discriminator_filters: int = 32,
    l1_weight: float = 100.0,
) -> Pix2Pix:
    generator = build_unet(n_freq, n_frames, with_mask, keep_known, depth, filters, name="generator")
    discriminator = build_patchgan(n_freq, n_frames, with_mask, discriminator_filters)
    return Pix2Pix(generator, discriminator, l1_weight, name="pix2pix")

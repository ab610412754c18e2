"""Seed 3's Pix2Pix: a U-Net generator and a PatchGAN discriminator trained with the
adversarial loss plus 100 x L1 (Isola et al. 2017), Adam 2e-4 with beta_1 0.5.

The models are keras.layers and keras.ops only. Taking gradients is the one thing
Keras 3 leaves to each backend, so the training step has a branch for TensorFlow,
PyTorch and JAX.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .unet import build_unet

LOSS_NAMES = ("loss", "g_adversarial", "g_l1", "d_loss")


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
    """Holds the generator and discriminator; ``fit`` runs :meth:`train_step`.

    One Adam optimizer serves both networks: each variable is stepped with the gradient
    of its own network's loss, and Adam keeps its state per variable, so this is exactly
    Pix2Pix's two optimizers with equal settings, while fit(), checkpoints and resuming
    see an ordinary model with one optimizer."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, l1_weight: float = 100.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = l1_weight
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in LOSS_NAMES}

    def compile(self, learning_rate: float = 2e-4, beta_1: float = 0.5, **kwargs):
        super().compile(optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1), **kwargs)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _gan_losses(self, inputs, target, training):
        fake = self.generator(inputs, training=training)
        condition = ops.concatenate(inputs, axis=-1) if isinstance(inputs, (list, tuple)) else inputs
        real_logits = self.discriminator([condition, target], training=training)
        fake_logits = self.discriminator([condition, fake], training=training)
        d_loss = self.bce(ops.ones_like(real_logits), real_logits) + self.bce(ops.zeros_like(fake_logits), fake_logits)
        g_adversarial = self.bce(ops.ones_like(fake_logits), fake_logits)
        g_l1 = ops.mean(ops.abs(target - fake))
        return g_adversarial + self.l1_weight * g_l1, g_adversarial, g_l1, d_loss

    def _own_gradients(self, g_grads, d_grads):
        """Each variable's gradient from its own network's loss."""
        generator = {id(v) for v in self.generator.trainable_variables}
        return [g if id(v) in generator else d for v, g, d in zip(self.trainable_variables, g_grads, d_grads)]

    def _record(self, values):
        for name, value in zip(LOSS_NAMES, values):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, *args):
        backend = keras.backend.backend()
        if backend == "jax":
            return self._train_step_jax(*args)
        (data,) = args
        inputs, target = data[0], data[1]  # fit() passes (x, y), train_on_batch (x, y, weights)
        variables = self.trainable_variables
        if backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape(persistent=True) as tape:
                losses = self._gan_losses(inputs, target, training=True)
            grads = self._own_gradients(tape.gradient(losses[0], variables), tape.gradient(losses[3], variables))
            self.optimizer.apply(grads, variables)
        elif backend == "torch":
            import torch

            self.zero_grad()
            losses = self._gan_losses(inputs, target, training=True)
            values = [v.value for v in variables]
            g_grads = torch.autograd.grad(losses[0], values, retain_graph=True, allow_unused=True)
            d_grads = torch.autograd.grad(losses[3], values, allow_unused=True)
            with torch.no_grad():
                self.optimizer.apply(self._own_gradients(g_grads, d_grads), variables)
        else:
            raise NotImplementedError(f"no Pix2Pix training step for the {backend} backend")
        return self._record(losses)

    def _stateless_losses(self, trainable, non_trainable, inputs, target, training):
        mapping = list(zip(self.trainable_variables, trainable)) + list(
            zip(self.non_trainable_variables, non_trainable)
        )
        with keras.StatelessScope(state_mapping=mapping) as scope:
            losses = self._gan_losses(inputs, target, training=training)
        updated = [scope.get_current_value(v) for v in self.non_trainable_variables]
        return losses, [new if new is not None else old for new, old in zip(updated, non_trainable)]

    def _stateless_record(self, metrics_variables, losses):
        logs, updated, start = {}, [], 0
        for name, value in zip(LOSS_NAMES, losses):
            tracker = self.trackers[name]
            own = metrics_variables[start : start + len(tracker.variables)]
            own = tracker.stateless_update_state(own, value)
            logs[name] = tracker.stateless_result(own)
            updated += list(own)
            start += len(tracker.variables)
        return logs, updated

    def _train_step_jax(self, state, data):
        import jax

        trainable, non_trainable, optimizer_variables, metrics_variables = state
        inputs, target = data[0], data[1]

        def loss_of(index):
            def loss(values):
                losses, updated = self._stateless_losses(values, non_trainable, inputs, target, training=True)
                return losses[index], (losses, updated)

            return loss

        (_, (losses, non_trainable_new)), g_grads = jax.value_and_grad(loss_of(0), has_aux=True)(trainable)
        _, d_grads = jax.value_and_grad(loss_of(3), has_aux=True)(trainable)
        trainable, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, self._own_gradients(g_grads, d_grads), trainable
        )
        logs, metrics_variables = self._stateless_record(metrics_variables, losses)
        return logs, (trainable, non_trainable_new, optimizer_variables, metrics_variables)

    def test_step(self, *args):
        if keras.backend.backend() == "jax":
            state, data = args
            trainable, non_trainable, metrics_variables = state
            inputs, target = data[0], data[1]
            losses, _ = self._stateless_losses(trainable, non_trainable, inputs, target, training=False)
            logs, metrics_variables = self._stateless_record(metrics_variables, losses)
            return logs, (trainable, non_trainable, metrics_variables)
        (data,) = args
        inputs, target = data[0], data[1]
        return self._record(self._gan_losses(inputs, target, training=False))


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

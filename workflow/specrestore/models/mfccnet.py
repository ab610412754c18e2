"""Seed 2 (Deep Speech Inpainting): a dense network on single MFCC frames,
Dense(512, ReLU) -> BatchNormalization -> Dense(n_mfcc), trained with MSE and Adagrad
(learning rate 1e-3, batches of 128) as published. Here each frame also carries the
fraction of every mel band the corruption destroyed, so the network knows where the
holes are."""

from __future__ import annotations

import keras
from keras import layers


def build_mfccnet(n_mfcc: int = 32, n_mels: int = 128, hidden: int = 512, seed: int = 42):
    mfcc = keras.Input((n_mfcc,), name="mfcc")
    missing = keras.Input((n_mels,), name="missing")
    x = layers.Concatenate()([mfcc, missing])
    x = layers.Dense(hidden, activation="relu", kernel_initializer=keras.initializers.GlorotNormal(seed=seed))(x)
    x = layers.BatchNormalization()(x)
    return keras.Model([mfcc, missing], layers.Dense(n_mfcc, name="mfcc_out")(x), name="mfccnet")

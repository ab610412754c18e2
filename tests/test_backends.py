"""The models on Keras's other backends, where they are installed (the GPU machines
have JAX and PyTorch; the CPU test machine has only TensorFlow)."""

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import REPO

SCRIPT = """
import numpy as np, keras
from specrestore import models
rng = np.random.default_rng(0)
x = rng.random((8, 32, 16, 1), dtype=np.float32)
missing = (rng.random((8, 32, 16, 1)) > 0.7).astype("float32")
y = rng.random((8, 32, 16, 1), dtype=np.float32)
for model in (models.build_unet(32, 16, True, True, 2, 4), models.build_cnn8(32, None, True, True, 4)):
    model.compile(keras.optimizers.Adam(1e-3), loss="mae")
    model.fit((x, missing), y, epochs=2, verbose=0)
    out = model.predict((x, missing), verbose=0)
    assert np.array_equal(out[missing == 0], x[missing == 0])
gan = models.build_pix2pix(32, 16, True, True, 2, 4, 4)
gan((x[:1], missing[:1]))
gan.compile(2e-4, 0.5)
history = gan.fit((x, missing), y, epochs=3, verbose=0).history
assert all(len(history[k]) == 3 for k in ("loss", "g_adversarial", "g_l1", "d_loss"))
mfcc = models.build_mfccnet(8, 16, 32)
mfcc.compile(keras.optimizers.Adagrad(1e-3), "mse")
mfcc.fit((rng.random((32, 8)), rng.random((32, 16))), rng.random((32, 8)), epochs=1, verbose=0)
print("ok", keras.backend.backend())
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_models_train_on_other_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed here (KERAS_BACKEND={backend} runs where it is)")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO / "workflow")}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"ok {backend}" in result.stdout

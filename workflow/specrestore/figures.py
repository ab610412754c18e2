"""Figures. The example grid follows seed 3's comparison: one row per test utterance,
columns Target | Corrupted | each system, log-magnitude spectrograms on one colour
scale, time in seconds and frequency in kHz."""

from __future__ import annotations

import textwrap

import numpy as np

from . import dsp

DYNAMIC_RANGE_DB = 80.0


def _spectrogram_db(x: np.ndarray, params: dsp.StftParams) -> np.ndarray:
    return 20 * np.log10(np.abs(dsp.stft(x, params)) + 1e-9)


def example_grid(
    examples: list[dict[str, np.ndarray]],
    columns: list[tuple[str, str]],
    sample_rate: int,
    params: dsp.StftParams,
    title: str,
    path: str,
) -> None:
    """``examples``: one dict per utterance mapping a column key to its waveform;
    ``columns``: (key, heading) pairs in display order, the target first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(examples), len(columns)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols + 0.8, 2.3 * n_rows + 0.8), squeeze=False)
    # One colour scale for the whole figure, set by the loudest target bin.
    vmax = max(float(_spectrogram_db(example[columns[0][0]], params).max()) for example in examples)
    vmin = vmax - DYNAMIC_RANGE_DB
    image = None
    for row, example in enumerate(examples):
        for col, (key, heading) in enumerate(columns):
            ax = axes[row, col]
            signal = example[key]
            spec = _spectrogram_db(signal, params)
            extent = (0, len(signal) / sample_rate, 0, sample_rate / 2000)
            image = ax.imshow(spec, origin="lower", aspect="auto", extent=extent, vmin=vmin, vmax=vmax, cmap="magma")
            if row == 0:
                ax.set_title(textwrap.fill(heading, 26), fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{example['id']}\nfrequency (kHz)", fontsize=8)
            else:
                ax.set_yticklabels([])
            if row == n_rows - 1:
                ax.set_xlabel("time (s)", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.93, 0.95))
    colorbar_axis = fig.add_axes((0.94, 0.15, 0.012, 0.7))
    fig.colorbar(image, cax=colorbar_axis).set_label("magnitude (dB)", fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# Panels of the training figure: (title, loss column); Pix2Pix's losses pull in different
# directions, so each gets its own panel.
LOSS_PANELS = {
    "pix2pix": [
        ("generator, adversarial", "g_adversarial"),
        ("generator, L1", "g_l1"),
        ("discriminator", "d_loss"),
        ("generator, total (adversarial + λ·L1)", "loss"),
    ],
}


def training_curves(history, model: str, task: str, path: str) -> None:
    """Training and validation loss per epoch (``history``: the CSVLogger table)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    panels = LOSS_PANELS.get(model, [("loss", "loss")])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    epochs = history["epoch"].to_numpy() + 1
    for ax, (title, column) in zip(axes[0], panels):
        ax.plot(epochs, history[column], marker="o", markersize=3, label="training")
        if f"val_{column}" in history.columns:
            ax.plot(epochs, history[f"val_{column}"], marker="s", markersize=3, label="validation")
            best = int(np.nanargmin(history[f"val_{column}"].to_numpy()))
            if column == "loss":
                ax.axvline(epochs[best], color="grey", linestyle=":", linewidth=1, label=f"best (epoch {epochs[best]})")
        ax.set_title(title, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Training of {model} for task {task}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def quality_vs_difficulty(
    curves: dict[str, object],
    labels: dict[str, str],
    x_label: str,
    title: str,
    path: str,
) -> None:
    """One panel per metric (``curves``: metric heading -> the table of
    :func:`specrestore.difficulty.binned_quality`), one line per system with its 95 %
    interval as a band."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(curves), figsize=(5.0 * len(curves) + 3.6, 3.8), squeeze=False)
    colours = plt.get_cmap("tab10")
    systems = list(labels)
    for ax, (heading, table) in zip(axes[0], curves.items()):
        for index, system in enumerate(systems):
            line = table[table["system"] == system]
            if line.empty:
                continue
            colour = colours(index % 10)
            ax.plot(line["difficulty"], line["mean"], marker="o", color=colour, label=labels[system])
            ax.fill_between(line["difficulty"], line["low"], line["high"], color=colour, alpha=0.15, linewidth=0)
        ax.set_xlabel(x_label)
        ax.set_ylabel(heading)
        ax.grid(alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.72, 0.92))
    fig.legend(handles, names, loc="center left", bbox_to_anchor=(0.73, 0.5), fontsize=8, frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)

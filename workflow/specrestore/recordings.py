"""Restoring a folder of one's own recordings: the same file names, formats, rates and
lengths out, dropouts found where no mask is given, and a report.

Used by ``specrestore restore`` (:mod:`specrestore.cli`) and by ``snakemake restore``.

Every file is read twice, block by block, so memory does not grow with its length:

1. *scan*: the samples are checked as the corpus stage checks them (a file shorter
   than its header, NaN or infinite samples: :func:`specrestore.audio.read_blocks`),
   dropouts are detected per channel (:mod:`specrestore.detection`) at the file's own
   quantisation step, or read from the mask file given for it, and the loudness of its
   20 ms frames is kept to tell a recording with no speech in it;
2. *restore*: the file is cut into chunks of ``chunk_s`` seconds, each read with
   ``context_s`` of signal on both sides, resampled to the rate the restorer works at,
   restored, resampled back and written. For dropouts the chunk borders are moved off
   the dropouts and every sample outside them is the input's own, bit for bit; for
   noise the chunks are cross-faded over ``crossfade_ms``.

The mask each file was restored with is written as ``gaps/<file>.csv`` (one row per
dropout: channel, start and end in seconds and samples, kind). Edit it and pass the
folder back as ``masks`` to restore with the edited mask.

Nothing is written over an input: an output that would be a recording or a given mask
file (the same path, or the same file through a link) stops the run before it writes.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from . import dsp
from .audio import AudioError, AudioInfo, find_audio_files, probe, read_blocks
from .detection import Detection, DetectionParams, Gap, detect_streaming, detection_windows, quantisation_step
from .progress import Progress
from .restoration import MAGNITUDE_METHODS

log = logging.getLogger(__name__)

TASKS = ("gap", "packetloss", "noise", "auto")
RECORDING_EXTENSIONS = ("wav", "flac", "ogg", "mp3")
MIN_RATE, MAX_RATE = 4000, 384000
REPORT_COLUMNS = [
    "file", "status", "message", "format", "subtype", "sample_rate", "working_rate", "channels", "duration_s",
    "task", "restored_with", "mask", "gaps", "gap_seconds", "quality_metric", "quality_before", "quality_after",
    "seconds",
]  # fmt: skip
GAP_COLUMNS = ["channel", "start_s", "end_s", "length_ms", "start_sample", "end_sample", "kind", "edge_db"]


class RecordingError(Exception):
    """A recording, or its mask file, that cannot be restored; the message says why."""


@dataclass
class RestoreOptions:
    task: str = "auto"
    detection: DetectionParams = field(default_factory=DetectionParams)
    chunk_s: float = 30.0
    context_s: float = 1.0
    crossfade_ms: float = 20.0
    quality: bool = True
    masks: Path | None = None
    detect_only: bool = False
    threads: int = 1

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose one of {TASKS}")
        if self.chunk_s < 1 or self.context_s < 0:
            raise ValueError("chunk_s must be at least 1 s and context_s not negative")


# --------------------------------------------------------------------------- restorers


class Restorer:
    """What restores a chunk: ``kind`` is ``"gap"`` (fill the masked samples, keep the
    rest) or ``"noise"`` (the whole signal); ``sample_rate`` is the rate it works at
    (None: the recording's own)."""

    kind: str
    sample_rate: int | None
    label: str

    def restore(self, x: np.ndarray, mask: np.ndarray | None, sample_rate: int) -> np.ndarray:
        raise NotImplementedError


class ModelRestorer(Restorer):
    """A model trained by the pipeline (its folder under ``results/models``)."""

    def __init__(self, model_dir: str | Path, task: str, phase: str | None = None, iterations: int = 32):
        from .inference import TrainedModel

        model_dir = Path(model_dir)
        if model_dir.is_file():
            model_dir = model_dir.parent
        if not (model_dir / "setup.json").exists():
            raise RecordingError(f"{model_dir}: not a trained model folder (no setup.json)")
        self.trained = TrainedModel.load(model_dir)
        setup = self.trained.setup
        trained_for = model_task(setup)
        if task == "auto":
            if trained_for is None:
                raise RecordingError(f"{model_dir}: the model does not say what it was trained for; give the task")
            task = trained_for
        elif trained_for is not None and kind_of(task) != kind_of(trained_for):
            raise RecordingError(f"{model_dir}: the model was trained for {trained_for}, not {task}")
        if "bandhole" in setup.get("corruptions", []):
            raise RecordingError(f"{model_dir}: band-hole models need a mask of missing bins; recordings have none")
        self.kind = kind_of(task)
        self.sample_rate = int(setup.get("sample_rate", 16000))
        self.params = dsp.StftParams.from_config(setup.get("stft", {"n_fft": 512, "hop": 128, "window": "hann"}))
        method = setup["model"]
        # Only magnitude models need a phase: mfccnet makes its own, cunet restores it.
        needs_phase = method in MAGNITUDE_METHODS
        self.phase = (phase or ("reconstruct" if self.kind == "gap" else "corrupted")) if needs_phase else None
        self.iterations = iterations
        self.label = f"{method}{'.' + self.phase if self.phase else ''} ({model_dir})"

    def restore(self, x, mask, sample_rate):
        from .inference import restore_with_model
        from .restoration import Utterance

        utterance = Utterance("chunk", x, sample_mask=mask if self.kind == "gap" else None)
        return restore_with_model(self.trained, self.phase, utterance, sample_rate, self.params, self.iterations)


DEFAULT_METHODS = {"gap": "lpc", "noise": "deepfilternet3"}
UNTRAINED_METHODS = {
    "gap": ("lpc", "interp.corrupted", "interp.reconstruct"),
    "noise": ("deepfilternet3", "rnnoise", "spectral_gating"),
}


class ClassicalRestorer(Restorer):
    """Where no model is given: LPC for dropouts, DeepFilterNet3 for noise, or another
    method that needs no training. The classical methods work at the recording's own
    rate, the peer denoisers at their 48 kHz."""

    def __init__(self, task: str, method: str | None = None, options: dict | None = None):
        from .peers import PEERS, RATE

        self.kind = kind_of("gap" if task == "auto" else task)
        self.method = method or DEFAULT_METHODS[self.kind]
        allowed = UNTRAINED_METHODS[self.kind]
        if self.method not in allowed:
            raise RecordingError(f"method {self.method!r} does not restore {task}; choose one of {allowed}")
        self.options = options or {}
        self.sample_rate = RATE if self.method in PEERS else None
        self.label = self.method

    def restore(self, x, mask, sample_rate):
        from .restoration import Utterance, restore

        utterance = Utterance("chunk", x, sample_mask=mask if self.kind == "gap" else None)
        params = dsp.StftParams(n_fft=512 * max(1, sample_rate // 16000), hop=128 * max(1, sample_rate // 16000))
        return restore(self.method, utterance, sample_rate, params, self.options)


def kind_of(task: str) -> str:
    return "noise" if task == "noise" else "gap"


def model_task(setup: dict) -> str | None:
    """The task a model was trained for, from the corruptions in its setup.json."""
    corruptions = setup.get("corruptions")
    if not corruptions:
        return None
    if "noise" in corruptions and not {"gap", "packetloss"} & set(corruptions):
        return "noise"
    return "packetloss" if "packetloss" in corruptions else "gap"


def make_restorer(task: str, model: str | Path | None, method: str | None = None, phase=None, options=None):
    if model:
        return ModelRestorer(model, task, phase, (options or {}).get("griffin_lim_iterations", 32))
    return ClassicalRestorer(task, method, options)


# --------------------------------------------------------------------------- masks


def read_mask(path: Path, info: AudioInfo) -> list[Gap]:
    """Gaps from a mask file as :func:`write_mask` writes it; samples where given, else
    seconds. Raises :class:`RecordingError` naming the file and row."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as err:
        raise RecordingError(f"mask {path}: not a readable CSV ({err})") from None
    if not ({"start_sample", "end_sample"} <= set(table.columns) or {"start_s", "end_s"} <= set(table.columns)):
        raise RecordingError(f"mask {path}: needs columns start_s and end_s (or start_sample and end_sample)")
    gaps = []
    for number, row in enumerate(table.to_dict("records"), start=2):
        where = f"mask {path}, line {number}"
        try:
            if row.get("start_sample", "") != "" and row.get("end_sample", "") != "":
                start, end = int(row["start_sample"]), int(row["end_sample"])
            else:
                start = round(float(row["start_s"]) * info.sample_rate)
                end = round(float(row["end_s"]) * info.sample_rate)
        except ValueError:
            raise RecordingError(f"{where}: start and end must be numbers") from None
        channel_text = str(row.get("channel", "all") or "all").strip().lower()
        if channel_text == "all":
            channel = None
        elif channel_text.isdigit() and 1 <= int(channel_text) <= info.channels:
            channel = int(channel_text) - 1
        else:
            raise RecordingError(f"{where}: channel {channel_text!r} is not 'all' or 1 to {info.channels}")
        if not 0 <= start < end <= info.frames:
            raise RecordingError(f"{where}: [{start}, {end}) is not a stretch inside the {info.frames} samples")
        gaps.append(Gap(start, end, row.get("kind", "") or "given", channel))
    return gaps


def write_mask(path: Path, gaps: list[Gap], sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [gap.as_row(sample_rate) for gap in sorted(gaps, key=lambda g: (g.start, g.channel or 0))]
    pd.DataFrame(rows, columns=GAP_COLUMNS).to_csv(path, index=False)


# --------------------------------------------------------------------------- scanning


@dataclass
class Scan:
    gaps: list[Gap]
    loudest_db: float
    level_range_db: float


def scan(
    path: Path, info: AudioInfo, params: DetectionParams, detect: bool, block_s: float = 30.0,
    progress: Progress | None = None,
) -> Scan:  # fmt: skip
    """Check the samples, detect dropouts per channel and measure 20 ms frame levels,
    block by block. Raises :class:`AudioError` for a truncated file or a NaN or infinite
    sample."""
    rate, total = info.sample_rate, info.frames
    margin = params.margin(rate)
    block = max(int(block_s * rate), margin)
    frame = max(1, rate // 50)
    step = quantisation_step(info.subtype)
    levels = []
    found = [Detection([]) for _ in range(info.channels)]
    for start, data in read_blocks(path, info, detection_windows(total, block, margin)):
        own = data[margin if start > 0 else 0 :][:block]
        usable = len(own) // frame * frame
        if usable:
            frames = own[:usable].reshape(-1, frame, info.channels)
            # Around each frame's mean: an offset carries no speech, and a recording held
            # far from zero would otherwise look loud and steady.
            power = np.mean(np.var(frames, axis=1, dtype=np.float64), axis=1)
            levels.append(10 * np.log10(np.maximum(power, 1e-20)))
        if detect:
            for channel in range(info.channels):
                window = detect_streaming(
                    iter([(start, data[:, channel])]), total, rate, params, channel, step, info.subtype
                )
                found[channel].gaps += window.gaps
                found[channel].silent_pauses += window.silent_pauses
        if progress is not None:
            progress.update(len(own) / rate, path.name, "scanned")
    level = np.concatenate(levels) if levels else np.array([-200.0])
    loud_db = float(np.percentile(level, 95))
    gaps = [gap for detection in found for gap in detection.plausible(loud_db, params, rate)]
    return Scan(
        sorted(gaps, key=lambda g: (g.start, g.channel or 0)),
        float(level.max()),
        loud_db - float(np.percentile(level, 10)),
    )


def no_speech_reason(scanned: Scan) -> str | None:
    """Why a recording holds no speech to restore, or None. Speech rises above -60 dBFS
    somewhere and varies by more than 6 dB between its loud and quiet frames; silence,
    hum and steady noise do not."""
    if scanned.loudest_db < -60:
        return f"no speech found: the loudest 20 ms is at {scanned.loudest_db:.0f} dBFS"
    if scanned.level_range_db < 6:
        return f"no speech found: the level stays within {scanned.level_range_db:.1f} dB (steady noise or a tone)"
    return None


# --------------------------------------------------------------------------- restoring


def chunk_borders(total: int, chunk: int, gaps: list[Gap], keep_clear: int) -> list[int]:
    """Chunk borders about ``chunk`` samples apart, each moved forward until it lies at
    least ``keep_clear`` samples from every gap. The last chunk is never shorter than
    half a chunk."""
    spans = sorted((g.start - keep_clear, g.end + keep_clear) for g in gaps)
    borders, position = [0], 0
    while total - position > 1.5 * chunk:
        border = position + chunk
        for start, end in spans:
            if start < border < end:
                border = end
        if border >= total - chunk // 2:
            break
        borders.append(border)
        position = border
    borders.append(total)
    return borders


def _working_mask(gaps: list[Gap], channel: int, start: int, end: int, rate_in: int, rate_out: int) -> np.ndarray:
    """The gaps of one channel inside samples [start, end), at the working rate; a
    sample there is missing where any original sample under it is."""
    n_out = _length_at(end - start, rate_in, rate_out)
    mask = np.zeros(n_out, dtype=bool)
    for gap in gaps:
        if (gap.channel is None or gap.channel == channel) and gap.end > start and gap.start < end:
            first = math.floor((max(gap.start, start) - start) * rate_out / rate_in)
            last = math.ceil((min(gap.end, end) - start) * rate_out / rate_in)
            mask[first : max(last, first + 1)] = True
    return mask


def _length_at(n: int, rate_in: int, rate_out: int) -> int:
    return n if rate_in == rate_out else round(n * rate_out / rate_in)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))


class QualityMeter:
    """Duration-weighted PLCMOS (dropouts) or DNSMOS overall (noise) over chunks."""

    def __init__(self, kind: str, threads: int, name: str):
        from .metrics import NonIntrusive

        self.scorer = NonIntrusive(threads)
        self.metric = "plcmos" if kind == "gap" else "dnsmos_ovrl"
        self.name = name
        self.sums = {"before": 0.0, "after": 0.0}
        self.weight = {"before": 0.0, "after": 0.0}
        self.failures: list[str] = []

    def add(self, which: str, x: np.ndarray, sample_rate: int, part: str) -> None:
        if len(x) < sample_rate:  # the models need a second of audio
            return
        # Scored at 16 kHz, the models' rate, clipped as the written file will be.
        x = np.clip(dsp.resample(x, sample_rate, 16000), -1, 1)
        try:
            if self.metric == "plcmos":
                score = self.scorer.plcmos(x, 16000, f"{self.name}:{part}")
            else:
                score = self.scorer.dnsmos(x, 16000)["dnsmos_ovrl"]
        except Exception as err:
            self.failures.append(f"{self.metric} failed on {part}: {err}")
            return
        self.sums[which] += score * len(x)
        self.weight[which] += len(x)

    def score(self, which: str) -> float:
        return self.sums[which] / self.weight[which] if self.weight[which] else float("nan")


def restore_recording(
    path: Path, out_path: Path, info: AudioInfo, gaps: list[Gap], restorer: Restorer, options: RestoreOptions,
    quality: QualityMeter | None = None, progress: Progress | None = None,
) -> None:  # fmt: skip
    """Write the restored recording to ``out_path`` (through a ``.partial`` file)."""
    rate, total = info.sample_rate, info.frames
    chunk = int(options.chunk_s * rate)
    context = int(options.context_s * rate)
    fade = int(options.crossfade_ms * rate / 1000) if restorer.kind == "noise" else 0
    fade = min(fade, chunk // 4)
    borders = chunk_borders(total, chunk, gaps, keep_clear=fade)
    partial = out_path.with_name(out_path.name + ".partial")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _restore_chunks(path, partial, info, gaps, restorer, borders, context, fade, quality, progress)
    except BaseException:
        partial.unlink(missing_ok=True)  # a half-written file never takes a real name
        raise
    os.replace(partial, out_path)


def _restore_chunks(path, partial, info, gaps, restorer, borders, context, fade, quality, progress) -> None:
    rate, total = info.sample_rate, info.frames
    working = restorer.sample_rate or rate
    tail = None
    with (
        sf.SoundFile(str(path)) as source,
        sf.SoundFile(str(partial), "w", rate, info.channels, info.subtype, format=info.format) as sink,
    ):
        for number, (start, end) in enumerate(itertools.pairwise(borders)):
            lo, hi = max(0, start - context), min(total, end + context)
            source.seek(lo)
            data = source.read(hi - lo, dtype="float32", always_2d=True)
            keep_lo, keep_hi = max(lo, start - fade // 2), min(hi, end + (fade - fade // 2))
            out = data[keep_lo - lo : keep_hi - lo].copy()
            for channel in range(info.channels):
                x = data[:, channel]
                if restorer.kind == "gap":
                    missing = _channel_mask(gaps, channel, lo, hi)
                    if not missing.any():
                        continue  # nothing to fill: the input stays as it is
                restored = _restore_span(x, lo, hi, channel, gaps, restorer, rate, working)
                if restorer.kind == "gap":
                    restored = np.where(missing, restored, x)
                out[:, channel] = restored[keep_lo - lo : keep_hi - lo]
                if quality is not None:
                    part = f"{number}:{channel}"
                    quality.add("before", x[start - lo : end - lo], rate, part)
                    quality.add("after", restored[start - lo : end - lo], rate, part)
            if not np.all(np.isfinite(out)):
                raise RecordingError(f"{path}: restoration produced NaN or infinite samples near {start / rate:.1f} s")
            tail = _write_crossfaded(sink, out, tail, fade, last=end == total, first=start == 0)
            if progress is not None:
                progress.update((end - start) / rate, path.name, "written")


def _channel_mask(gaps: list[Gap], channel: int, lo: int, hi: int) -> np.ndarray:
    mask = np.zeros(hi - lo, dtype=bool)
    for gap in gaps:
        if gap.channel in (None, channel) and gap.end > lo and gap.start < hi:
            mask[max(gap.start, lo) - lo : min(gap.end, hi) - lo] = True
    return mask


def _restore_span(x, lo, hi, channel, gaps, restorer: Restorer, rate: int, working: int) -> np.ndarray:
    """One channel of samples [lo, hi) restored at the working rate and brought back."""
    mask = _working_mask(gaps, channel, lo, hi, rate, working) if restorer.kind == "gap" else None
    at_working = dsp.resample(x, rate, working)
    at_working = _fit(at_working, _length_at(len(x), rate, working))
    restored = restorer.restore(at_working, mask, working)
    return _fit(dsp.resample(restored, working, rate), len(x)).astype(np.float32)


def _write_crossfaded(sink, out: np.ndarray, tail, fade: int, last: bool, first: bool):
    """Write a chunk, blending its first ``fade`` samples with the previous chunk's
    last ones; returns this chunk's last ``fade`` samples, held back for the next."""
    if fade and not first:
        ramp = (np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade) ** 2)[:, None].astype(np.float32)
        out = out.copy()
        out[:fade] = tail * (1 - ramp) + out[:fade] * ramp
    if fade and not last:
        sink.write(out[:-fade])
        return out[-fade:]
    sink.write(out)
    return None


# --------------------------------------------------------------------------- folders


def relative_outputs(input_path: Path) -> list[tuple[Path, Path]]:
    """(recording, path relative to the output folder) for a file or a folder."""
    if input_path.is_file():
        return [(input_path, Path(input_path.name))]
    if not input_path.is_dir():
        raise RecordingError(f"{input_path}: no such file or folder")
    extensions = [e for e in RECORDING_EXTENSIONS if e != "mp3" or "MP3" in sf.available_formats()]
    return [(path, path.relative_to(input_path)) for path in find_audio_files(input_path, extensions)]


def check_outputs(recordings: list[tuple[Path, Path]], output_dir: Path, masks: Path | None) -> None:
    """Raise :class:`RecordingError` if anything the run would write (a recording, its
    ``.partial`` file, its mask, the report) would replace a recording or a mask file
    under ``masks``: the same path once symbolic links are resolved, or the same file
    under another name (a hard link)."""
    protected = {path.resolve(): f"the recording {path}" for path, _ in recordings}
    if masks is not None:
        given = (mask.resolve() for mask in masks.rglob("*") if mask.is_file())
        protected |= {mask: f"the given mask {mask}" for mask in given}
    inodes = {}
    for path, what in protected.items():
        with contextlib.suppress(OSError):
            status = path.stat()
            inodes[status.st_dev, status.st_ino] = what
    outputs = [output_dir / "restore_report.csv"]
    for _, relative in recordings:
        out = output_dir / relative
        outputs += [out, out.with_name(out.name + ".partial"), output_dir / "gaps" / f"{relative}.csv"]
    for out in outputs:
        what = protected.get(out.resolve())
        if what is None:
            with contextlib.suppress(OSError):
                status = out.stat()
                what = inodes.get((status.st_dev, status.st_ino))
        if what is not None:
            raise RecordingError(f"{out} would overwrite {what}; write to another folder")


def restore_folder(
    input_path: str | Path, output_dir: str | Path, restorer: Restorer | None, options: RestoreOptions,
    progress_stream=None,
) -> pd.DataFrame:  # fmt: skip
    """Restore every recording under ``input_path`` into ``output_dir`` and write
    ``restore_report.csv`` there; one bad recording is reported and skipped. Nothing is
    written where an output would replace an input (:func:`check_outputs`)."""
    input_path, output_dir = Path(input_path).resolve(), Path(output_dir).resolve()
    if output_dir == input_path or input_path in output_dir.parents:
        raise RecordingError(f"{output_dir}: the output folder must not be the input folder or inside it")
    if output_dir.exists() and not output_dir.is_dir():
        raise RecordingError(f"{output_dir}: the output must be a folder")
    if options.masks is not None and not options.masks.is_dir():
        raise RecordingError(f"{options.masks}: no such masks folder")
    recordings = relative_outputs(input_path)
    if not recordings:
        raise RecordingError(f"{input_path}: no recordings ({', '.join(RECORDING_EXTENSIONS)})")
    check_outputs(recordings, output_dir, options.masks)
    output_dir.mkdir(parents=True, exist_ok=True)
    infos: dict[Path, AudioInfo | AudioError] = {}
    for path, _ in recordings:
        try:
            infos[path] = probe(path)
        except AudioError as err:
            infos[path] = err
    seconds = sum(i.duration_s for i in infos.values() if isinstance(i, AudioInfo))
    passes = ("scanned",) if options.detect_only else ("scanned", "written")
    progress = Progress(seconds, stream=progress_stream, passes=passes)
    rows, position = [], 0.0
    for path, relative in recordings:
        row = restore_one(path, relative, infos[path], output_dir, restorer, options, progress)
        log.info("%s: %s%s", relative, row["status"], f" ({row['message']})" if row["message"] else "")
        rows.append(row)
        if isinstance(infos[path], AudioInfo):
            # A file that failed, or was copied, has no more passes to count.
            position += infos[path].duration_s
            progress.reach(position, str(relative))
    progress.close()
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    report.to_csv(output_dir / "restore_report.csv", index=False)
    return report


def restore_one(
    path: Path, relative: Path, info, output_dir: Path, restorer: Restorer | None, options: RestoreOptions,
    progress: Progress,
) -> dict:  # fmt: skip
    row = dict.fromkeys(REPORT_COLUMNS, "")
    row.update(file=str(relative), task=options.task, status="failed")
    started = time.perf_counter()
    if isinstance(info, AudioError):
        row["message"] = info.reason
        return row
    kind = restorer.kind if restorer is not None else kind_of(options.task)
    notes = []
    row.update(format=info.format, subtype=info.subtype, sample_rate=info.sample_rate, channels=info.channels,
               duration_s=round(info.duration_s, 3), restored_with=restorer.label if restorer else "")  # fmt: skip
    try:
        if not MIN_RATE <= info.sample_rate <= MAX_RATE:
            raise RecordingError(f"unsupported sample rate {info.sample_rate} Hz ({MIN_RATE}-{MAX_RATE} Hz)")
        if not sf.check_format(info.format, info.subtype):
            raise RecordingError(f"{info.format}/{info.subtype} cannot be written back")
        working = (restorer.sample_rate if restorer else None) or info.sample_rate
        row["working_rate"] = working
        mask_file = options.masks / f"{relative}.csv" if options.masks else None
        given = mask_file is not None and mask_file.exists()
        scanned = scan(path, info, options.detection, detect=kind == "gap" and not given, progress=progress)
        if given:
            scanned.gaps = read_mask(mask_file, info)
        row["mask"] = ("given" if given else "detected") if kind == "gap" else "none"
        reason = no_speech_reason(scanned)
        if kind == "gap":
            row["gaps"] = len(scanned.gaps)
            row["gap_seconds"] = round(sum(g.length for g in scanned.gaps) / info.sample_rate, 4)
            write_mask(output_dir / "gaps" / f"{relative}.csv", scanned.gaps, info.sample_rate)
        out_path = output_dir / relative
        if reason is not None:
            _copy(path, out_path)
            row.update(status="unchanged", message=f"{reason}; copied unchanged")
            return _finish(row, notes, started)
        if options.detect_only:
            row.update(status="scanned")
            return _finish(row, notes, started)
        if kind == "gap" and not scanned.gaps:
            _copy(path, out_path)
            row.update(status="unchanged", message="no dropouts found; copied unchanged")
            return _finish(row, notes, started)
        if working != info.sample_rate:
            notes.append(f"resampled {info.sample_rate} -> {working} Hz for restoring and back")
        if info.channels > 1:
            notes.append(f"{info.channels} channels, each restored on its own")
        quality = QualityMeter(kind, options.threads, str(relative)) if options.quality else None
        restore_recording(path, out_path, info, scanned.gaps, restorer, options, quality, progress)
        row["status"] = "restored"
        if quality is not None:
            row.update(quality_metric=quality.metric, quality_before=round(quality.score("before"), 3),
                       quality_after=round(quality.score("after"), 3))  # fmt: skip
            notes += quality.failures
    except (RecordingError, AudioError) as err:
        row["message"] = str(err).removeprefix(f"{path}: ")
        return _finish(row, notes, started, failed=True)
    except Exception as err:  # one recording must not take the others down
        log.exception("%s: restoring failed", path)
        row["message"] = f"restoring failed: {type(err).__name__}: {err}"
        return _finish(row, notes, started, failed=True)
    return _finish(row, notes, started)


def _copy(path: Path, out_path: Path) -> None:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, out_path)


def _finish(row: dict, notes: list[str], started: float, failed: bool = False) -> dict:
    message = [row["message"]] if row["message"] else []
    row["message"] = "; ".join(message + notes)
    row["seconds"] = round(time.perf_counter() - started, 3)
    if failed:
        row["status"] = "failed"
    return row

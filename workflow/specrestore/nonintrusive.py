"""PLCMOS and DNSMOS (the ONNX models shipped in ``speechmos``), scored by their
reference procedures but without repeating work, so that every score is bit for bit
speechmos's own.

- **DNSMOS** scores 9.01 s windows every second (a clip shorter than that is doubled
  until it is long enough) and averages the windows. 97 % of its network is four 3 × 3
  convolutions at frame resolution (10 ms frames, before any pooling), and the windows
  start on whole frames, so those layers are run once over the whole clip and each
  window takes its frames from there; only the 4 frames at either end of a window,
  where the window's own zero padding reaches, are computed for the window itself. The
  rest of the network runs per window as before. The P.808 model that speechmos also
  runs is not run: its score is not reported.
  ``dnsmos_window_hop_s`` above 1 (a setting, not the default) scores only every
  n-th of those windows: faster, and no longer the published procedure.
- **PLCMOS** averages 15 runs of its network over random "rater" embeddings; the audio
  encoder does not see the embedding, so it runs once and only the small rater head
  runs 15 times.

The two parts of each network are cut out of the shipped models with ``onnx``, and
each is run in one ONNX Runtime session per job, held to the job's threads. Loading
``onnx`` takes half a second, so the pipeline cuts the parts once per run
(:func:`write_network_parts`) and each scoring job reads them from there.
``tests/test_nonintrusive.py`` compares every score with speechmos's own procedure.
"""

from __future__ import annotations

import os

import numpy as np

from . import dsp
from .seeding import stable_hash


class Missing(Exception):
    """A score that cannot be computed for this recording; the message says why."""


SAMPLE_RATE = 16000
# speechmos.dnsmos: window length (s), and the frame grid of its network's STFT.
DNSMOS_WINDOW_S = 9.01
DNSMOS_HOP = 160
DNSMOS_FRAME = 320
DNSMOS_FRAMES_PER_WINDOW = 900
# Four 3 x 3 convolutions with one frame of zero padding each: a window's first and
# last 4 frames depend on where the window ends, the others only on the audio.
DNSMOS_EDGE_FRAMES = 4
DNSMOS_FRAMES_PER_SECOND = SAMPLE_RATE // DNSMOS_HOP
DNSMOS_MIN_RUN_FRAMES = DNSMOS_FRAMES_PER_SECOND
DNSMOS_WINDOW_WHOLE_S = DNSMOS_FRAMES_PER_WINDOW // DNSMOS_FRAMES_PER_SECOND
DNSMOS_EXCERPTS_KEPT = DNSMOS_WINDOW_WHOLE_S
DNSMOS_FRONT_OUTPUT = "mos_estimator_logpow/conv2d_3/Relu:0"
DNSMOS_FRONT_INPUT = "mos_estimator_logpow/concat:0"
DNSMOS_CHUNK_FRAMES = 1000
PLCMOS_ROUNDS = 15
PLCMOS_ENCODER_OUTPUTS = ("onnx::Concat_335", "onnx::Concat_337")
NETWORK_PARTS = ("dnsmos_front", "dnsmos_back", "plcmos_encoder", "plcmos_head")


def model_file(module, folder: str, name: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(module.__file__)), folder, name)


def cut_model(path: str, inputs: dict[str, list], outputs: dict[str, list]) -> bytes:
    """The part of an ONNX model that computes ``outputs`` from ``inputs`` (tensor
    names with their shapes, a string naming an axis of any length), its nodes and
    weights unchanged."""
    import onnx

    model = onnx.load(path)
    graph = model.graph
    producer = {name: node for node in graph.node for name in node.output}
    needed, stack, nodes = set(), list(outputs), []
    while stack:
        name = stack.pop()
        if name in needed or name in inputs or name not in producer:
            continue
        needed.add(name)
        node = producer[name]
        nodes.append(node)
        stack.extend(node.input)
    kept = {id(node) for node in nodes}
    used = {name for node in nodes for name in node.input}

    def tensors(shapes):
        return [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, s) for n, s in shapes.items()]

    part = onnx.helper.make_graph(
        [node for node in graph.node if id(node) in kept],  # in the model's own order
        graph.name,
        tensors(inputs),
        tensors(outputs),
        [weight for weight in graph.initializer if weight.name in used],
    )
    cut = onnx.helper.make_model(part, opset_imports=model.opset_import, ir_version=model.ir_version)
    return cut.SerializeToString()


def network_part(name: str) -> bytes:
    """One of :data:`NETWORK_PARTS`, cut out of the model speechmos ships."""
    from speechmos import dnsmos, plcmos

    if name.startswith("dnsmos"):
        path = model_file(dnsmos, "dnsmos_models", "sig_bak_ovr.onnx")
        maps = {DNSMOS_FRONT_OUTPUT: [1, 32, "frames", 161]}
        if name == "dnsmos_front":
            return cut_model(path, {DNSMOS_FRONT_INPUT: [1, "frames", DNSMOS_FRAME]}, maps)
        if name == "dnsmos_back":
            return cut_model(path, maps, {"Identity:0": [1, 3]})
    if name.startswith("plcmos"):
        path = model_file(plcmos, "plcmos_models", "plcmos_v2.onnx")
        hidden = {output: [1, 32] for output in PLCMOS_ENCODER_OUTPUTS}
        if name == "plcmos_encoder":
            return cut_model(path, {"degraded_audio": [1, 1, "frames", 257]}, hidden)
        if name == "plcmos_head":
            return cut_model(path, {**hidden, "rater_embed": [1, 64]}, {"plcmos": []})
    raise ValueError(f"no network part {name!r}; the parts are {', '.join(NETWORK_PARTS)}")


def write_network_parts(folder: str) -> list[str]:
    """Every network part as ``<folder>/<part>.onnx``; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name in NETWORK_PARTS:
        path = os.path.join(folder, f"{name}.onnx")
        with open(path, "wb") as file:
            file.write(network_part(name))
        paths.append(path)
    return paths


def check_window_hop(hop_s: int) -> int:
    """A DNSMOS window hop: whole seconds, at most a window's whole seconds."""
    if not (isinstance(hop_s, int) and 1 <= hop_s <= DNSMOS_WINDOW_WHOLE_S):
        raise ValueError(f"DNSMOS window hop must be 1 to {DNSMOS_WINDOW_WHOLE_S} whole seconds, got {hop_s!r}")
    return hop_s


def window_bounds(n_samples: int, hop_s: int = 1) -> list[tuple[int, int]]:
    """speechmos's DNSMOS windows over a clip already doubled to length, computed with
    the same floating-point expressions: ``(idx + 9.01) * 16000`` truncates to one
    sample short for some ``idx`` (7 to 23, 119 to 122, ...), and speechmos skips those
    windows, so they are skipped here too. ``hop_s`` > 1 keeps every ``hop_s``-th
    window start of the reference procedure (which has one a second)."""
    check_window_hop(hop_s)
    length = int(DNSMOS_WINDOW_S * SAMPLE_RATE)
    hops = int(np.floor(n_samples / SAMPLE_RATE) - DNSMOS_WINDOW_S) + 1
    bounds = []
    for idx in range(0, hops, hop_s):
        start, end = int(idx * SAMPLE_RATE), int((idx + DNSMOS_WINDOW_S) * SAMPLE_RATE)
        if min(end, n_samples) - start < length:
            continue
        if end - start != length:
            raise AssertionError(f"DNSMOS window {idx} would be {end - start} samples")
        bounds.append((start, end))
    return bounds


def doubled_to_window(audio: np.ndarray) -> np.ndarray:
    """speechmos's tiling of a short clip: appended to itself until 9.01 s long."""
    if len(audio) == 0:
        raise Missing("empty recording")
    while len(audio) < int(DNSMOS_WINDOW_S * SAMPLE_RATE):
        audio = np.append(audio, audio)
    return audio


def at_16k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    if len(x) == 0:
        raise Missing("empty recording")
    x = dsp.resample(x, sample_rate, SAMPLE_RATE)
    if np.max(np.abs(x)) > 1:
        raise Missing("samples beyond full scale")
    return x


class _FrontMaps:
    """The DNSMOS front layers over the whole clip, computed a chunk at a time as the
    windows move forward and dropped behind them, so memory does not grow with the
    clip's length; and the rows at a window's ends, computed where that end is."""

    def __init__(self, session, frames: np.ndarray):
        self.session, self.frames = session, frames
        self.start, self.maps = 0, None
        self.excerpts: dict[int, np.ndarray] = {}

    def run(self, first: int, stop: int) -> np.ndarray:
        """Front maps of frames [first, stop) computed on exactly those frames.
        ONNX Runtime's convolutions round differently on maps of up to 64 frames, so
        no part shorter than a second is ever run."""
        assert stop - first >= DNSMOS_MIN_RUN_FRAMES, (first, stop)
        frames = np.ascontiguousarray(self.frames[None, first:stop])
        return self.session.run(None, {DNSMOS_FRONT_INPUT: frames})[0][0]

    def _interior(self, first: int, stop: int) -> np.ndarray:
        hi = min(len(self.frames), stop + DNSMOS_EDGE_FRAMES)
        lo = max(0, min(first - DNSMOS_EDGE_FRAMES, hi - DNSMOS_MIN_RUN_FRAMES))
        return self.run(lo, hi)[:, first - lo : stop - lo]

    def interior(self, first: int, stop: int) -> np.ndarray:
        """Frames [first, stop) as computed inside a longer stretch of the clip."""
        if self.maps is None or first < self.start:
            self.start, self.maps = first, self._interior(first, min(len(self.frames), first + DNSMOS_CHUNK_FRAMES))
        elif first > self.start:
            self.maps = self.maps[:, first - self.start :]
            self.start = first
        while self.start + self.maps.shape[1] < stop:
            end = self.start + self.maps.shape[1]
            chunk = self._interior(end, min(len(self.frames), end + DNSMOS_CHUNK_FRAMES))
            self.maps = np.concatenate([self.maps, chunk], axis=1)
        return self.maps[:, first - self.start : stop - self.start]

    def excerpt(self, second: int) -> np.ndarray:
        """The second of frames starting at ``second`` computed on its own: its first
        rows are those of a window starting there, its last rows those of a window
        ending where it ends (window k's end is excerpt k + 8's)."""
        for old in [k for k in self.excerpts if k < second - DNSMOS_EXCERPTS_KEPT]:
            del self.excerpts[old]
        if second not in self.excerpts:
            first = second * DNSMOS_FRAMES_PER_SECOND
            self.excerpts[second] = self.run(first, first + DNSMOS_MIN_RUN_FRAMES)
        return self.excerpts[second]

    def window(self, second: int) -> np.ndarray:
        """The front maps of the window starting ``second`` seconds in, exactly as the
        whole model computes them on that window alone."""
        first, n, edge = second * DNSMOS_FRAMES_PER_SECOND, DNSMOS_FRAMES_PER_WINDOW, DNSMOS_EDGE_FRAMES
        maps = self.interior(first, first + n).copy()
        maps[:, :edge] = self.excerpt(second)[:, :edge]
        maps[:, n - edge :] = self.excerpt(second + DNSMOS_WINDOW_WHOLE_S - 1)[:, DNSMOS_MIN_RUN_FRAMES - edge :]
        return maps


class NonIntrusive:
    """PLCMOS and DNSMOS with their sessions made once and held to ``threads`` threads
    (an ONNX Runtime session left to itself takes every core of the machine).
    ``dnsmos_window_hop_s``: seconds between DNSMOS windows; 1, the default, is the
    reference procedure. ``network_parts``: a folder written by
    :func:`write_network_parts`; without it the parts are cut here."""

    def __init__(self, threads: int = 1, dnsmos_window_hop_s: int = 1, network_parts: str | None = None):
        self.threads = threads
        self.network_parts = network_parts
        self.dnsmos_window_hop_s = check_window_hop(dnsmos_window_hop_s)
        self._plcmos = None
        self._dnsmos = None

    def _session(self, model: str | bytes):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])

    def _part(self, name: str):
        if self.network_parts is None:
            return self._session(network_part(name))
        path = os.path.join(self.network_parts, f"{name}.onnx")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: missing; write_network_parts writes the scoring networks' parts")
        return self._session(path)

    def _plcmos_parts(self):
        if self._plcmos is None:
            from speechmos import plcmos

            # Only its feature extraction (stft_transform) is used.
            features = plcmos.PLCMOS.__new__(plcmos.PLCMOS)
            self._plcmos = features, self._part("plcmos_encoder"), self._part("plcmos_head")
        return self._plcmos

    def plcmos(self, degraded: np.ndarray, sample_rate: int, utt_id: str) -> float:
        """speechmos's PLCMOS v2: the mean over 15 rater embeddings drawn from NumPy's
        global generator, seeded here per utterance so that the score repeats."""
        features, encoder, head = self._plcmos_parts()
        audio = at_16k(degraded, sample_rate)
        spectrum = np.float32(features.stft_transform(audio))[np.newaxis, np.newaxis, ...]
        encoded = dict(zip(PLCMOS_ENCODER_OUTPUTS, encoder.run(None, {"degraded_audio": spectrum})))
        state = np.random.get_state()
        np.random.seed(stable_hash("plcmos", utt_id) % 2**32)
        try:
            mos = 0
            for _ in range(PLCMOS_ROUNDS):
                rater = np.array(np.random.normal(size=(1, 64)), dtype=np.float32).reshape(1, -1)
                mos += float(head.run(None, {**encoded, "rater_embed": rater})[0])
        finally:
            np.random.set_state(state)
        return mos / PLCMOS_ROUNDS

    def _dnsmos_parts(self):
        if self._dnsmos is None:
            self._dnsmos = self._part("dnsmos_front"), self._part("dnsmos_back")
        return self._dnsmos

    def dnsmos(self, degraded: np.ndarray, sample_rate: int) -> dict[str, float]:
        """speechmos's DNSMOS (SIG, BAK, OVRL; not personalised): the mean over its
        windows of each window's scores mapped through the published polynomials."""
        from speechmos.dnsmos import DNSMOS

        front, back = self._dnsmos_parts()
        audio = doubled_to_window(at_16k(degraded, sample_rate)).astype("float32")
        bounds = window_bounds(len(audio), self.dnsmos_window_hop_s)
        end = bounds[-1][1]
        # A view: each run copies only its own frames (a copy of all of them would be
        # twice the clip's size).
        frames = np.lib.stride_tricks.sliding_window_view(audio[:end], DNSMOS_FRAME)[::DNSMOS_HOP]
        maps = _FrontMaps(front, frames)
        # Windows that share no frames gain nothing from the shared front layers, and
        # their edges would cost two excerpts each: such a window is run on its own.
        apart = self.dnsmos_window_hop_s >= DNSMOS_WINDOW_WHOLE_S
        scores = {"sig": [], "bak": [], "ovr": []}
        for start, _ in bounds:
            second = start // SAMPLE_RATE
            if apart:
                first = second * DNSMOS_FRAMES_PER_SECOND
                window = maps.run(first, first + DNSMOS_FRAMES_PER_WINDOW)
            else:
                window = maps.window(second)
            raw = back.run(None, {DNSMOS_FRONT_OUTPUT: window[None]})[0][0]
            for key, value in zip(scores, DNSMOS.get_polyfit_val(None, *raw, False)):
                scores[key].append(value)
        return {
            "dnsmos_sig": np.mean(scores["sig"]),
            "dnsmos_bak": np.mean(scores["bak"]),
            "dnsmos_ovrl": np.mean(scores["ovr"]),
        }

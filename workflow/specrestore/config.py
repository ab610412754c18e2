"""Config checks that name the offending key.

The JSON schema (workflow/schemas/config.schema.yaml) is the single definition of the
config: types, ranges, defaults. :func:`schema_problems` lists every violation with
the dotted key it concerns; :func:`check_config` adds the rules a schema cannot say
(fractions that must sum to one, ranges given as [low, high], a folder that must
exist). Both run when the Snakefile is parsed, before any job starts.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

CORRUPTION_KEYS = ("noise", "bandhole", "gap", "packetloss")


class ConfigError(Exception):
    pass


def task_corruptions(config: dict) -> dict[str, dict]:
    """Task name -> its corruptions with their parameters, in config order."""
    return {entry["name"]: {k: v for k, v in entry.items() if k in CORRUPTION_KEYS} for entry in config["tasks"]}


def task_models(config: dict) -> dict[str, list[str]]:
    """Task name -> the models trained for it."""
    return {entry["name"]: list(entry.get("models", [])) for entry in config["tasks"]}


def load_schema(path: str | Path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def schema_problems(config: dict, schema: dict) -> list[str]:
    """One line per schema violation, each naming its key."""
    from jsonschema import Draft202012Validator

    problems = []
    validator = Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        where = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - set(known)):
                hint = difflib.get_close_matches(str(name), known, n=1)
                suggestion = (
                    f"; did you mean {_key(where + hint)!r}?"
                    if hint
                    else (f"; known keys: {', '.join(known)}" if known else "")
                )
                problems.append(f"config key {_key(where + [name])!r} is not a known setting{suggestion}")
        elif "propertyNames" in error.relative_schema_path:
            problems.append(f"config key {_key(where + [error.instance])!r}: the name {error.message}")
        else:
            problems.append(f"config key {_key(where)!r}: {error.message}")
    return problems


def _ordered_pair(config: dict, path: list, problems: list[str]) -> None:
    value = config
    for part in path:
        in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
        if in_list or (isinstance(value, dict) and part in value):
            value = value[part]
        else:
            return
    if isinstance(value, list) and len(value) == 2 and value[0] > value[1]:
        problems.append(f"config key {_key(path)!r}: [low, high] expected, got {value}")


# Corpora that come with a noisy recording of every clean one.
PAIRED_CORPORA = ("voicebank_demand",)


def check_config(config: dict, workdir: str | Path = ".") -> None:
    """Rules across keys; raises :class:`ConfigError` listing every problem. Expects a
    config that passed the schema (defaults filled in)."""
    problems = []
    splits = config["splits"]
    if abs(sum(splits.values()) - 1.0) > 1e-6:
        problems.append(f"config key 'splits': fractions must sum to 1, got {sum(splits.values()):g} ({splits})")
    for name in ("train", "test"):
        if splits.get(name, 0) <= 0:
            problems.append(f"config key 'splits.{name}': must be above 0 (a run trains and tests)")
    stft = config["stft"]
    if stft["hop"] > stft["n_fft"]:
        problems.append(f"config key 'stft.hop': {stft['hop']} is larger than stft.n_fft ({stft['n_fft']})")
    pre = config["preprocess"]
    if pre.get("max_duration_s") is not None and pre["max_duration_s"] <= pre["min_duration_s"]:
        problems.append("config key 'preprocess.max_duration_s': must be above preprocess.min_duration_s")
    _ordered_pair(config, ["noise_sources", "synthetic", "babble_talkers"], problems)

    if config["corpus"] == "folder":
        root = config["corpora"]["folder"].get("path")
        if not root:
            problems.append("config key 'corpora.folder.path': required when corpus is 'folder'")
        elif not (Path(workdir) / root).is_dir():
            problems.append(f"config key 'corpora.folder.path': {root} is not a directory")

    if config["noise"] == "paired" and config["corpus"] not in PAIRED_CORPORA:
        problems.append(
            f"config key 'noise': 'paired' takes each utterance's own noisy recording, which only "
            f"{', '.join(PAIRED_CORPORA)} has; corpus is {config['corpus']!r}"
        )

    problems += _sweep_problems(config)

    bank_kinds = set(config["noise_sources"]["synthetic"]["kinds"])
    names = [entry["name"] for entry in config["tasks"]]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"config key 'tasks': the name {name!r} is used by more than one task")
    for index, entry in enumerate(config["tasks"]):
        task, spec = entry["name"], {k: v for k, v in entry.items() if k in CORRUPTION_KEYS}
        if not spec:
            problems.append(
                f"config key 'tasks.{index}' ({task}): no corruption; give one of {', '.join(CORRUPTION_KEYS)}"
            )
        for pair in (("gap", "length_ms"), ("bandhole", "holes"), ("bandhole", "duration_ms")):
            _ordered_pair(config, ["tasks", index, *pair], problems)
        loss = spec.get("packetloss")
        if loss is not None:
            p_good_to_bad = loss["loss_rate"] / (loss["mean_burst_packets"] * (1 - loss["loss_rate"]))
            if p_good_to_bad > 1:
                problems.append(
                    f"config key 'tasks.{index}.packetloss': a loss rate of {loss['loss_rate']} cannot have bursts "
                    f"as short as {loss['mean_burst_packets']} packets on average; raise mean_burst_packets"
                )
        noise = spec.get("noise")
        if noise is not None and noise.get("kinds"):
            missing = set(noise["kinds"]) - bank_kinds
            if missing and config["noise"] == "synthetic":
                problems.append(
                    f"config key 'tasks.{index}.noise.kinds': {sorted(missing)} not in noise_sources.synthetic.kinds"
                )
        hole = spec.get("bandhole")
        if hole is not None and round(hole["fraction"] * (stft["n_fft"] // 2 + 1)) < 1:
            problems.append(
                f"config key 'tasks.{index}.bandhole.fraction': covers no STFT bin at n_fft {stft['n_fft']}"
            )
    training = config["training"]
    used = {name for entry in config["tasks"] for name in entry.get("models", [])}
    for name in sorted(used & {"unet", "pix2pix"}):
        depth = config["model_options"][name]["depth"]
        if training["patch_frames"] % 2**depth:
            problems.append(
                f"config key 'training.patch_frames': {training['patch_frames']} is not a multiple of "
                f"2**model_options.{name}.depth ({2**depth})"
            )
    for name in ("cnn8", "unet"):
        options = config["model_options"][name]
        if options["target"] == "residual" and options["normalization"] != "global_scale":
            problems.append(
                f"config key 'model_options.{name}.target': residual needs normalization global_scale "
                "(its bounded output cannot reach an unbounded log-magnitude difference)"
            )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def _sweep_problems(config: dict) -> list[str]:
    sweep = config.get("experiments", {}).get("gap_context", {})
    if not sweep.get("enabled"):
        return []
    tasks = {entry["name"]: entry for entry in config["tasks"]}
    key = "config key 'experiments.gap_context"
    task = tasks.get(sweep["task"])
    if task is None:
        return [f"{key}.task': no task named {sweep['task']!r} (tasks: {', '.join(tasks)})"]
    if "gap" not in task:
        return [f"{key}.task': task {sweep['task']!r} has no gap corruption"]
    missing = [m for m in sweep["models"] if m not in task.get("models", [])]
    if sweep["training"] == "shared" and missing:
        return [
            f"{key}.models': {missing} are not trained for task {sweep['task']!r}; add them to its models "
            "or set experiments.gap_context.training to per_context"
        ]
    return []

"""Config checks that name the offending key.

The JSON schema (workflow/schemas/config.schema.yaml) is the single definition of the
config: types, ranges, defaults. :func:`schema_problems` lists every violation with
the dotted key it concerns; :func:`cross_key_problems` adds the rules a schema cannot
say (fractions that must sum to one, ranges given as [low, high], a folder that must
exist). :func:`config_problems` runs both when the Snakefile is parsed, before any job
starts, so that one message lists every problem of a config.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator
from functools import partial
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


def task_model_options(config: dict, task: str, model: str) -> dict:
    """``model_options[model]`` with the task's own values for it (``tasks[].model_options``)."""
    (entry,) = [entry for entry in config["tasks"] if entry["name"] == task]
    return {**config["model_options"][model], **entry.get("model_options", {}).get(model, {})}


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


def _ordered_pair(config: dict, path: list) -> list[str]:
    value = config
    for part in path:
        in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
        if in_list or (isinstance(value, dict) and part in value):
            value = value[part]
        else:
            return []
    if isinstance(value, list) and len(value) == 2 and value[0] > value[1]:
        return [f"config key {_key(path)!r}: [low, high] expected, got {value}"]
    return []


# Corpora that come with a noisy recording of every clean one.
PAIRED_CORPORA = ("voicebank_demand",)

# What a cross-key rule raises when a value it reads has the wrong type or shape.
_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError)


def config_problems(config: dict, schema: dict, workdir: str | Path = ".") -> list[str]:
    """Every problem of a config as given (before defaults): the schema's, then the
    rules across keys, evaluated on a copy with the defaults filled in. A rule that
    reads a value the schema rejected is left out: that value's key is already named,
    and comparing it with another would say nothing sound."""
    problems = schema_problems(config, schema)
    filled = with_defaults(config, schema)
    try:
        problems += task_model_option_problems(filled, schema)
    except _MALFORMED:
        if not problems:
            raise
    return problems + cross_key_problems(filled, workdir, tolerate_malformed=bool(problems))


def task_model_option_problems(config: dict, schema: dict) -> list[str]:
    """A task's own model options checked as model_options are: each model's options
    with the task's values in place, against that model's schema."""
    from jsonschema import Draft202012Validator

    tasks = config.get("tasks")
    problems = []
    for index, entry in enumerate(tasks if isinstance(tasks, list) else []):
        options = entry.get("model_options") if isinstance(entry, dict) else None
        if not isinstance(options, dict):
            continue
        for model, values in options.items():
            where = f"tasks.{index}.model_options.{model}"
            model_schema = schema["properties"]["model_options"]["properties"].get(model)
            if model_schema is None:
                continue  # the schema names it
            if model not in entry.get("models", []):
                problems.append(f"config key {where!r}: {model} is not one of this task's models")
            if not isinstance(values, dict):
                continue
            merged = {**config["model_options"][model], **values}
            validator = Draft202012Validator({**model_schema, "$defs": schema.get("$defs", {})})
            for error in validator.iter_errors(merged):
                if error.validator == "additionalProperties":
                    known = list(model_schema["properties"])
                    for name in sorted(set(values) - set(known)):
                        problems.append(
                            f"config key '{where}.{name}' is not a known setting; known keys: {', '.join(known)}"
                        )
                else:
                    problems.append(f"config key {_key([where, *error.absolute_path])!r}: {error.message}")
    return problems


def with_defaults(config: dict, schema: dict) -> dict:
    """A copy of ``config`` with the schema's defaults filled in, as snakemake's
    ``validate`` fills them, but also for a config that violates the schema."""
    from jsonschema import Draft202012Validator, validators

    fill_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, entry in properties.items():
                if "default" in entry:
                    instance.setdefault(name, copy.deepcopy(entry["default"]))
        yield from fill_properties(validator, properties, instance, subschema)

    config = copy.deepcopy(config)
    filler = validators.extend(Draft202012Validator, {"properties": set_defaults})(schema)
    for _ in filler.iter_errors(config):
        pass  # the schema's own pass reports these
    return config


def check_config(config: dict, workdir: str | Path = ".") -> None:
    """Rules across keys; raises :class:`ConfigError` listing every problem. Expects a
    config that passed the schema (defaults filled in)."""
    problems = cross_key_problems(config, workdir)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def cross_key_problems(config: dict, workdir: str | Path = ".", tolerate_malformed: bool = False) -> list[str]:
    """One line per broken rule across keys, each naming its key. With
    ``tolerate_malformed`` (for a config whose schema problems are reported beside
    these) a rule stops at the first value it cannot read, keeping what it found
    before, instead of raising."""
    tasks = config.get("tasks")
    rules = [
        partial(_general_problems, config),
        partial(_corpus_problems, config, workdir),
        partial(_sweep_problems, config),
        partial(_task_name_problems, config),
        *(partial(_task_problems, config, index) for index in range(len(tasks) if isinstance(tasks, list) else 0)),
        partial(_model_problems, config),
    ]
    problems = []
    for rule in rules:
        try:
            for problem in rule():
                problems.append(problem)
        except _MALFORMED:
            if not tolerate_malformed:
                raise
    return problems


def _general_problems(config: dict) -> Iterator[str]:
    splits = config["splits"]
    if abs(sum(splits.values()) - 1.0) > 1e-6:
        yield f"config key 'splits': fractions must sum to 1, got {sum(splits.values()):g} ({splits})"
    for name in ("train", "test"):
        if splits.get(name, 0) <= 0:
            yield f"config key 'splits.{name}': must be above 0 (a run trains and tests)"
    stft = config["stft"]
    if stft["hop"] > stft["n_fft"]:
        yield f"config key 'stft.hop': {stft['hop']} is larger than stft.n_fft ({stft['n_fft']})"
    pre = config["preprocess"]
    if pre.get("max_duration_s") is not None and pre["max_duration_s"] <= pre["min_duration_s"]:
        yield "config key 'preprocess.max_duration_s': must be above preprocess.min_duration_s"
    yield from _ordered_pair(config, ["noise_sources", "synthetic", "babble_talkers"])


def _corpus_problems(config: dict, workdir: str | Path) -> Iterator[str]:
    if config["corpus"] == "folder":
        root = config["corpora"]["folder"].get("path")
        if not root:
            yield "config key 'corpora.folder.path': required when corpus is 'folder'"
        elif not (Path(workdir) / root).is_dir():
            yield f"config key 'corpora.folder.path': {root} is not a directory"
    if config["noise"] == "paired" and config["corpus"] not in PAIRED_CORPORA:
        yield (
            f"config key 'noise': 'paired' takes each utterance's own noisy recording, which only "
            f"{', '.join(PAIRED_CORPORA)} has; corpus is {config['corpus']!r}"
        )


def _task_name_problems(config: dict) -> Iterator[str]:
    names = [entry["name"] for entry in config["tasks"]]
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield f"config key 'tasks': the name {name!r} is used by more than one task"


def _task_problems(config: dict, index: int) -> Iterator[str]:
    entry = config["tasks"][index]
    spec = {k: v for k, v in entry.items() if k in CORRUPTION_KEYS}
    if not spec:
        yield f"config key 'tasks.{index}' ({entry['name']}): no corruption; give one of {', '.join(CORRUPTION_KEYS)}"
    for pair in (("gap", "length_ms"), ("bandhole", "holes"), ("bandhole", "duration_ms")):
        yield from _ordered_pair(config, ["tasks", index, *pair])
    loss = spec.get("packetloss")
    if loss is not None:
        p_good_to_bad = loss["loss_rate"] / (loss["mean_burst_packets"] * (1 - loss["loss_rate"]))
        if p_good_to_bad > 1:
            yield (
                f"config key 'tasks.{index}.packetloss': a loss rate of {loss['loss_rate']} cannot have bursts "
                f"as short as {loss['mean_burst_packets']} packets on average; raise mean_burst_packets"
            )
    noise = spec.get("noise")
    if noise is not None and noise.get("kinds") and config["noise"] == "synthetic":
        missing = set(noise["kinds"]) - set(config["noise_sources"]["synthetic"]["kinds"])
        if missing:
            yield f"config key 'tasks.{index}.noise.kinds': {sorted(missing)} not in noise_sources.synthetic.kinds"
    hole = spec.get("bandhole")
    n_fft = config["stft"]["n_fft"]
    if hole is not None and round(hole["fraction"] * (n_fft // 2 + 1)) < 1:
        yield f"config key 'tasks.{index}.bandhole.fraction': covers no STFT bin at n_fft {n_fft}"


def _model_problems(config: dict) -> Iterator[str]:
    training = config["training"]
    used = {name for entry in config["tasks"] for name in entry.get("models", [])}
    # Every set of options a model can train with: model_options', and each task's own.
    variants = [(f"model_options.{name}", name, options) for name, options in config["model_options"].items()]
    for index, entry in enumerate(config["tasks"]):
        for name in entry.get("model_options", {}):
            options = task_model_options(config, entry["name"], name)
            variants.append((f"tasks.{index}.model_options.{name}", name, options))
    for key, name, options in variants:
        if name in used & {"unet", "pix2pix"} and training["patch_frames"] % 2 ** options["depth"]:
            yield (
                f"config key 'training.patch_frames': {training['patch_frames']} is not a multiple of "
                f"2**{key}.depth ({2 ** options['depth']})"
            )
        if name == "cunet" and name in used:
            frames = options["patch_frames"] or training["patch_frames"]
            if frames % 2 ** options["depth"]:
                source = f"{key}.patch_frames" if options["patch_frames"] else "training.patch_frames"
                step = 2 ** options["depth"]
                yield f"config key '{source}': {frames} is not a multiple of 2**{key}.depth ({step})"
        residual = name in ("cnn8", "unet") and options["target"] == "residual"
        if residual and options["normalization"] != "global_scale":
            yield (
                f"config key '{key}.target': residual needs normalization global_scale "
                "(its bounded output cannot reach an unbounded log-magnitude difference)"
            )


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

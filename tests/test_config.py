import copy

import pytest
import yaml

from conftest import REPO, run_snakemake
from specrestore.config import (
    ConfigError,
    check_config,
    config_problems,
    cross_key_problems,
    load_schema,
    schema_problems,
    task_model_options,
    with_defaults,
)

SCHEMA = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")


def default_config():
    with open(REPO / "config.yaml") as handle:
        return yaml.safe_load(handle)


def filled(config):
    """The config as snakemake sees it after validate(): defaults filled in."""
    from snakemake.utils import validate

    config = copy.deepcopy(config)
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def test_default_config_is_valid():
    config = default_config()
    assert schema_problems(config, SCHEMA) == []
    check_config(filled(config))


def test_an_empty_config_gets_every_default():
    config = filled({})
    assert config["corpus"] == "demo" and config["stft"] == {
        "n_fft": 512,
        "hop": 128,
        "window": "hann",
        "magnitude_dtype": "float32",
    }
    assert [t["name"] for t in config["tasks"]] == ["gap", "packetloss", "bandhole", "noise"]
    assert config["tasks"][0]["gap"]["length_ms"] == [20, 100] and config["tasks"][0]["models"] == ["unet"]
    check_config(config)


def test_task_parameters_get_defaults():
    config = filled({"tasks": [{"name": "mix", "noise": {"snr_db": [5]}, "gap": {"count": 2}}]})
    assert config["tasks"][0]["noise"] == {"snr_db": [5], "kinds": None}
    assert config["tasks"][0]["gap"]["margin_ms"] == 100 and config["tasks"][0]["models"] == []


@pytest.mark.parametrize(
    "change, message",
    [
        ({"stft": {"n_fft": "big"}}, "config key 'stft.n_fft': 'big' is not of type 'integer'"),
        ({"stft": {"hopp": 128}}, "config key 'stft.hopp' is not a known setting; did you mean 'stft.hop'?"),
        ({"shards": 0}, "config key 'shards': 0 is less than the minimum of 1"),
        ({"sample_rate": 12345}, "config key 'sample_rate': 12345 is not one of"),
        ({"tasks": [{"name": "gap", "gap": {"length_ms": [20]}}]}, "config key 'tasks.0.gap.length_ms'"),
        ({"tasks": [{"name": "n", "noise": {"snr_db": [100]}}]}, "config key 'tasks.0.noise.snr_db.0': 100 is greater"),
        ({"tasks": [{"name": "x", "reverb": {}}]}, "config key 'tasks.0.reverb' is not a known setting"),
        ({"tasks": [{"name": "Bad-Name", "gap": {}}]}, "config key 'tasks.0.name': 'Bad-Name' does not match"),
        ({"tasks": [{"gap": {}}]}, "config key 'tasks.0': 'name' is a required property"),
        (
            {"tasks": [{"name": "g", "gap": {}, "models": ["resnet"]}]},
            "config key 'tasks.0.models.0': 'resnet' is not one of",
        ),
        ({"colour": "red"}, "config key 'colour' is not a known setting"),
        (
            {"corpora": {"demo": {"speakers": 1000}}},
            "config key 'corpora.demo.speakers': 1000 is greater than the maximum",
        ),
    ],
)
def test_schema_names_the_key(change, message):
    problems = schema_problems({**default_config(), **change}, SCHEMA)
    assert any(message in p for p in problems), problems


CROSS_KEY_CASES = [
    ({"splits": {"train": 0.5, "valid": 0.1, "test": 0.1}}, "'splits': fractions must sum to 1"),
    ({"splits": {"train": 0.9, "valid": 0.1, "test": 0.0}}, "'splits.test': must be above 0"),
    ({"stft": {"n_fft": 256, "hop": 512}}, "'stft.hop': 512 is larger than stft.n_fft"),
    ({"tasks": [{"name": "g", "gap": {"length_ms": [100, 20]}}]}, "'tasks.0.gap.length_ms': [low, high] expected"),
    (
        {"tasks": [{"name": "p", "packetloss": {"loss_rate": 0.7, "mean_burst_packets": 1}}]},
        "'tasks.0.packetloss': a loss",
    ),
    ({"tasks": [{"name": "a", "gap": {}}, {"name": "a", "noise": {}}]}, "the name 'a' is used by more than one task"),
    ({"tasks": [{"name": "empty", "models": ["unet"]}]}, "'tasks.0' (empty): no corruption"),
    (
        {"training": {"patch_frames": 36}},
        "'training.patch_frames': 36 is not a multiple of 2**model_options.unet.depth",
    ),
    (
        {"model_options": {"cunet": {"patch_frames": 36}}},
        "'model_options.cunet.patch_frames': 36 is not a multiple of 2**model_options.cunet.depth (8)",
    ),
    ({"model_options": {"unet": {"target": "residual"}}}, "'model_options.unet.target': residual needs normalization"),
    ({"corpus": "folder"}, "'corpora.folder.path': required when corpus is 'folder'"),
    ({"corpus": "folder", "corpora": {"folder": {"path": "/no/such/dir"}}}, "/no/such/dir is not a directory"),
    (
        {"noise_sources": {"synthetic": {"kinds": ["white"]}}, "tasks": [{"name": "n", "noise": {"kinds": ["hum"]}}]},
        "'tasks.0.noise.kinds': ['hum'] not in noise_sources.synthetic.kinds",
    ),
]


@pytest.mark.parametrize("change, message", CROSS_KEY_CASES)
def test_rules_across_keys_name_the_key(change, message):
    with pytest.raises(ConfigError) as err:
        check_config(filled({**default_config(), **change}))
    assert message in str(err.value)


@pytest.mark.parametrize(
    "config",
    [{}, default_config(), {"tasks": [{"name": "b", "bandhole": {"duration_ms": [10, 40]}}], "noise": "synthetic"}],
)
def test_defaults_are_filled_as_snakemake_fills_them(config):
    assert with_defaults(config, SCHEMA) == filled(config)


@pytest.mark.parametrize("change, message", CROSS_KEY_CASES)
def test_schema_and_cross_key_problems_come_in_one_list(change, message):
    config = {**default_config(), **change, "shards": 0, "colour": "red"}
    problems = config_problems(config, SCHEMA)
    assert "config key 'shards': 0 is less than the minimum of 1" in problems
    assert any(p.startswith("config key 'colour' is not a known setting") for p in problems)
    assert any(message in p for p in problems), problems


# Values of the wrong type or shape that a cross-key rule reads.
MALFORMED = [
    {"stft": {"n_fft": "big", "hop": 128}},
    {"stft": "512/128"},
    {"splits": {"train": "most", "valid": 0.1, "test": 0.1}},
    {"splits": [0.8, 0.1, 0.1]},
    {"preprocess": {"min_duration_s": "half a second"}},
    {"training": {"patch_frames": "64"}},
    {"model_options": None},
    {"noise_sources": {"synthetic": {"babble_talkers": [2, "four"]}}},
    {"experiments": {"gap_context": "on"}},
]
REVERSED_RANGES = [
    {"name": "gap", "gap": {"length_ms": [100, 20]}, "models": ["unet"]},
    {"name": "hole", "bandhole": {"holes": [4, 1]}},
]


@pytest.mark.parametrize("change", MALFORMED)
def test_cross_key_rules_still_run_beside_a_malformed_value(change):
    config = {**default_config(), **change, "tasks": REVERSED_RANGES}
    with pytest.raises((TypeError, AttributeError, KeyError)):
        cross_key_problems(with_defaults(config, SCHEMA))
    problems = config_problems(config, SCHEMA)
    assert set(schema_problems(config, SCHEMA)) < set(problems)
    assert "config key 'tasks.0.gap.length_ms': [low, high] expected, got [100, 20]" in problems
    assert "config key 'tasks.1.bandhole.holes': [low, high] expected, got [4, 1]" in problems


def test_a_malformed_task_leaves_the_others_checked():
    tasks = [
        {"name": "loss", "gap": {"length_ms": [50, 10]}, "packetloss": {"loss_rate": "high"}},
        {"gap": {}},
        *REVERSED_RANGES,
    ]
    problems = config_problems({**default_config(), "tasks": tasks}, SCHEMA)
    assert problems == [
        "config key 'tasks.0.packetloss.loss_rate': 'high' is not of type 'number'",
        "config key 'tasks.1': 'name' is a required property",
        # found in the malformed task before the rule reached its loss rate
        "config key 'tasks.0.gap.length_ms': [low, high] expected, got [50, 10]",
        "config key 'tasks.2.gap.length_ms': [low, high] expected, got [100, 20]",
        "config key 'tasks.3.bandhole.holes': [low, high] expected, got [4, 1]",
    ]


def test_a_task_sets_its_own_model_options_and_keeps_the_rest():
    config = default_config()
    config["model_options"] = {"cunet": {"depth": 2}}
    noise = next(task for task in config["tasks"] if task["name"] == "noise")
    noise["model_options"] = {"cunet": {"waveform_weight": 0.0}}
    assert config_problems(config, SCHEMA) == []
    config = filled(config)
    own, gap = task_model_options(config, "noise", "cunet"), task_model_options(config, "gap", "cunet")
    assert own["waveform_weight"] == 0.0 and gap["waveform_weight"] == 0.05
    assert own["depth"] == gap["depth"] == 2 and own["filters"] == 8


def test_a_tasks_own_model_options_are_checked_like_model_options():
    config = default_config()
    index, noise = next((i, task) for i, task in enumerate(config["tasks"]) if task["name"] == "noise")
    noise["model_options"] = {
        "cunet": {"waveform_weight": -1, "wave_weight": 0.0},
        "cnn8": {"filters": 4},
        "unet": {"depth": 6},
    }
    key = f"config key 'tasks.{index}.model_options"
    assert config_problems(config, SCHEMA) == [
        f"{key}.cunet.wave_weight' is not a known setting; known keys: depth, filters, compress, "
        "complex_weight, waveform_weight, frequency_transforms, overestimate_weight, noise_fill, patch_frames, "
        "batch_size",
        f"{key}.cunet.waveform_weight': -1 is less than the minimum of 0",
        f"{key}.cnn8': cnn8 is not one of this task's models",
        f"config key 'training.patch_frames': 32 is not a multiple of 2**{key[12:]}.unet.depth (64)",
    ]
    noise["model_options"] = {"unet": {"depth": "deep"}}  # read again by the rules across keys
    assert config_problems(config, SCHEMA) == [f"{key}.unet.depth': 'deep' is not of type 'integer'"]
    noise["model_options"] = {"transformer": {}}
    assert config_problems(config, SCHEMA) == [
        f"{key}.transformer' is not a known setting; known keys: cnn8, unet, pix2pix, mfccnet, cunet"
    ]


def test_a_malformed_value_in_a_config_that_passed_the_schema_is_a_bug_not_a_skip():
    config = filled(default_config())
    config["stft"]["n_fft"] = "big"
    with pytest.raises(TypeError):
        cross_key_problems(config)


def test_a_bad_config_stops_the_run_before_any_job(tmp_path):
    config = default_config()
    config["stft"]["hopp"] = 64
    config["shards"] = -1
    config["tasks"][0]["gap"] = {"length_ms": [100, 20]}
    config["splits"] = {"train": 0.5, "valid": 0.1, "test": 0.1}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path)
    assert result.returncode != 0
    assert "config key 'stft.hopp' is not a known setting" in result.stderr
    assert "config key 'shards': -1 is less than the minimum of 1" in result.stderr
    assert "config key 'tasks.0.gap.length_ms': [low, high] expected, got [100, 20]" in result.stderr
    assert "config key 'splits': fractions must sum to 1, got 0.7" in result.stderr
    assert not (tmp_path / "results").exists()

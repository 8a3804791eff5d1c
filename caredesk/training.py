"""Train the Rasa model only when its inputs changed (a fingerprint of data, config and code)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

MODEL_NAME = "caredesk"
# What a trained model depends on, relative to the project folder (the spaCy pipeline's own inputs,
# the catalogue among them, count through its build digest: see fingerprint()).
INPUTS = ("config.yml", "domain.yml", "data", "bot/nlu")


def _input_files(project_dir: Path, config: str) -> list[Path]:
    files: list[Path] = []
    for name in (*INPUTS, config):
        path = project_dir / name
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".py"))
        elif path.is_file():
            files.append(path)
    return sorted(set(files))


def spacy_pipelines(project_dir: Path, config: str = "config.yml") -> list[Path]:
    """The project-built spaCy pipelines ``config`` loads (SpacyNLP ``model:`` paths named like ours).

    Rasa resolves the path against the folder it runs in; every Rasa command here runs in the
    project folder, so that is where the pipeline is built.
    """
    import yaml

    from bot.nlu import spacy_pipeline

    path = project_dir / config
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    steps = settings.get("pipeline") if isinstance(settings, dict) else None
    models = [step.get("model") for step in steps or [] if isinstance(step, dict) and step.get("name") == "SpacyNLP"]
    return [project_dir / m for m in models if isinstance(m, str) and Path(m).name == spacy_pipeline.NAME]


def prepare_spacy(project_dir: Path, config: str = "config.yml") -> list[Path]:
    """Build the spaCy pipelines ``config`` needs, unless already built from the same inputs."""
    from bot.nlu import spacy_pipeline

    paths = spacy_pipelines(project_dir, config)
    for path in paths:
        spacy_pipeline.ensure_pipeline(path)
    return paths


def fingerprint(project_dir: Path, config: str = "config.yml") -> str:
    """A hash of every training input, the spaCy pipeline's build digest and the Rasa version."""
    from importlib.metadata import version

    from bot.nlu import spacy_pipeline

    digest = hashlib.sha256(f"rasa=={version('rasa')}".encode())
    if spacy_pipelines(project_dir, config):
        digest.update(f"spacy pipeline {spacy_pipeline.build_digest()}".encode())
    for path in _input_files(project_dir, config):
        digest.update(str(path.relative_to(project_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path(models_dir: Path, name: str = MODEL_NAME) -> Path:
    return models_dir / f"{name}.tar.gz"


def needs_training(project_dir: Path, models_dir: Path, name: str = MODEL_NAME,
                   config: str = "config.yml") -> bool:
    stamp = models_dir / f"{name}.fingerprint"
    if not model_path(models_dir, name).exists() or not stamp.exists():
        return True
    return stamp.read_text(encoding="utf-8").strip() != fingerprint(project_dir, config)


def train(project_dir: Path, models_dir: Path, *, name: str = MODEL_NAME, config: str = "config.yml",
          force: bool = False, quiet: bool = False) -> Path:
    """Train with ``rasa train`` unless the saved model already matches the inputs."""
    target = model_path(models_dir, name)
    # Before the up-to-date check: a trained model loads the pipeline from disk each time it starts.
    prepare_spacy(project_dir, config)
    if not force and not needs_training(project_dir, models_dir, name, config):
        if not quiet:
            print(f"Model {target} is up to date; not training.")
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    digest = fingerprint(project_dir, config)
    command = [
        sys.executable, "-m", "rasa", "train", "--fixed-model-name", name, "--out", str(models_dir),
        "--config", config, "--domain", "domain.yml", "--data", "data",
    ]
    if not quiet:
        print(f"Training the Rasa model ({' '.join(command[2:])}) ...", flush=True)
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=project_dir, env=env,
                            stdout=subprocess.DEVNULL if quiet else None)
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"rasa train failed with exit code {result.returncode}")
    (models_dir / f"{name}.fingerprint").write_text(digest, encoding="utf-8")
    return target

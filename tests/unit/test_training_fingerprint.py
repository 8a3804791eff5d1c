from pathlib import Path

from caredesk.training import fingerprint, needs_training


def _project(root: Path) -> Path:
    (root / "data" / "nlu").mkdir(parents=True)
    (root / "config.yml").write_text("pipeline: []\n")
    (root / "domain.yml").write_text("version: '3.1'\n")
    (root / "data" / "nlu" / "a.yml").write_text("nlu: []\n")
    return root


def test_the_fingerprint_changes_only_when_training_inputs_change(tmp_path):
    project = _project(tmp_path)
    before = fingerprint(project)
    (project / "README.md").write_text("not a training input")
    assert fingerprint(project) == before
    (project / "data" / "nlu" / "a.yml").write_text("nlu: [changed]\n")
    assert fingerprint(project) != before


def test_a_model_is_trained_when_missing_or_stale_and_not_otherwise(tmp_path):
    project, models = _project(tmp_path / "p"), tmp_path / "models"
    models.mkdir()
    assert needs_training(project, models)
    (models / "caredesk.tar.gz").write_bytes(b"model")
    (models / "caredesk.fingerprint").write_text(fingerprint(project))
    assert not needs_training(project, models)
    (project / "domain.yml").write_text("version: '3.1'\nintents: [greet]\n")
    assert needs_training(project, models)

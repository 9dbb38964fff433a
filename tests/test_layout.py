"""The package layout holds: public paths import, privacy stays inside a package, no package cycles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "seqprep"

# The shared toolbox at the top of the package: private to seqprep, open to every part of it.
TOOLBOX = {"seqprep._validation", "seqprep._files", "seqprep._json", "seqprep._manifest", "seqprep._version",
           "seqprep._threads"}

# Every public name, through every path it was documented under (the flat modules of 0.x included).
PUBLIC = {
    "seqprep.windowing": ["TorchWindows", "Vocabulary", "WindowSpec", "Windows", "keras_dataset", "make_window_spec",
                          "window_starts", "windows"],
    "seqprep.windowing.covariates": ["ColumnPlan", "RoleData", "RoleSpec", "fill_missing", "gather_roles",
                                     "make_roles", "plan_columns", "static_tables"],
    "seqprep.adapters": ["TorchWindows", "keras_dataset"],
    "seqprep.windowing.adapters": ["TorchWindows", "keras_dataset"],
    "seqprep.scaling": ["BaseScaler", "ColumnScaler", "IdentityScaler", "InstanceScaler", "Log1pScaler",
                        "MaxAbsScaler", "MinMaxScaler", "Moments", "PixelScaler", "RobustScaler", "SeriesScaler",
                        "StandardScaler", "StreamingQuantiles", "group_moments", "make_scaler"],
    "seqprep.auditing": ["AuditReport", "Finding", "audit", "check_data"],
    "seqprep.diagnosis": ["CNNLSTMPlan", "Diagnosis", "DoctorReport", "LAYOUTS", "LayerRow", "PlanRow",
                          "add_feature_axis", "doctor", "plan_cnn_lstm", "to_layout"],
    "seqprep.shapes": ["CNNLSTMPlan", "LAYOUTS", "PlanRow", "add_feature_axis", "plan_cnn_lstm", "to_layout"],
    "seqprep.diagnosis.shapes": ["CNNLSTMPlan", "LAYOUTS", "PlanRow", "add_feature_axis", "plan_cnn_lstm",
                                 "to_layout"],
    "seqprep.outofcore": ["EXPORT_FORMAT", "EXPORT_FORMAT_VERSION", "NpySource", "ParquetSource", "StreamFit",
                          "export", "fit_stream", "open_export", "open_source"],
    "seqprep.dask": ["export", "fit_pipeline"],
    "seqprep.training": ["ArrayWindows", "TrainResult", "WindowsDataset", "collate_batch", "evaluate", "fit",
                         "make_dataloader", "predict", "resolve_device"],
    "seqprep.metrics": ["accuracy", "balanced_accuracy", "classification_metrics", "confusion_matrix", "macro_f1",
                        "mae", "regression_metrics", "rmse", "smape"],
    "seqprep.training.metrics": ["accuracy", "mae", "regression_metrics"],
    "seqprep.baselines": ["RidgeBaseline", "majority_class", "minirocket_classifier", "minirocket_regressor",
                          "nearest_neighbour_1", "persistence", "seasonal_naive"],
    "seqprep.rocket": ["MiniRocket", "RidgeClassifierLOO", "RidgeLOO"],
    "seqprep.training.baselines": ["RidgeBaseline", "persistence"],
    "seqprep.distributed": ["fit_distributed"],
    "seqprep.training.distributed": ["fit_distributed"],
    "seqprep.runs": ["DEFAULT_CLASSIFICATION_MODEL_CONFIG", "DEFAULT_CLASSIFICATION_TRAIN_CONFIG",
                     "DEFAULT_MODEL_CONFIG", "DEFAULT_TRAIN_CONFIG", "RunResult", "check_scales",
                     "default_derived_features", "evaluate_run", "instance_normalize", "load_run", "predict_run",
                     "run_classification", "run_forecast"],
    "seqprep.report": ["build_run_report", "plot_confusion_matrix", "plot_example_windows",
                       "plot_feature_distributions", "plot_learning_curves", "plot_predictions",
                       "plot_split_timeline", "save_figure", "write_html_report"],
    "seqprep.runs.report": ["build_run_report", "write_html_report"],
    "seqprep.runs.verdict": ["best_per_metric", "compare_to_baselines", "format_metric", "higher_is_better",
                             "metric_label", "metric_unit", "model_label"],
    "seqprep.cli": ["cli", "main"],
    "seqprep.augment": ["Augmentation", "Compose", "Jitter", "MagnitudeWarp", "Scaling", "Shift", "TimeWarp",
                        "WindowSlice", "augmentation_from_dict", "make_augmentation"],
    "seqprep.exceptions": ["ArtifactError", "DataError", "DataWarning", "InvalidParameterError", "LeakageError",
                           "MemoryBudgetError", "NotFittedError", "NotSupportedError", "SeqprepError", "SeqprepWarning",
                           "ShapeError", "StaticValueError"],
    "seqprep.features": ["Calendar", "Diff", "Feature", "Lag", "Rolling", "apply_features", "feature_from_dict",
                         "make_features"],
    "seqprep.io": ["SeriesData", "as_series", "read_table"],
    "seqprep.pipeline": ["Pipeline"],
    "seqprep.splitting": ["Split", "split", "walk_forward"],
    "seqprep.models": ["CNNLSTM", "Ensemble", "TimeDistributedCNNLSTM", "load_model", "save_model"],
    "seqprep.datasets": ["TSData", "load_ts", "load_tsf", "load_ucr", "load_weather", "make_ar",
                         "make_classification_sines", "make_panel", "make_sine"],
}
_NEEDS = {"seqprep.models": "torch", "seqprep.dask": "dask"}


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_every_public_name_imports_through_its_documented_path(path):
    if path in _NEEDS:
        pytest.importorskip(_NEEDS[path])
    module = importlib.import_module(path)
    for name in PUBLIC[path]:
        assert getattr(module, name) is not None, f"{path}.{name}"
    if hasattr(module, "__all__"):
        assert module.__all__ == sorted(module.__all__), path
        assert set(PUBLIC[path]) <= set(module.__all__), path


def test_a_moved_module_is_the_same_module_under_both_paths():
    import seqprep.metrics
    import seqprep.training.metrics

    assert seqprep.metrics is seqprep.training.metrics
    assert seqprep.metrics.__spec__.name == "seqprep.training.metrics"


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _unit(module: str) -> str:
    """A package under seqprep is one unit; a top-level module is its own."""
    return ".".join(module.split(".")[:2])


def _imports(module: str, path: Path) -> list[tuple[str, list[str], bool]]:
    """(target module, imported names, inside a function) for every ``from ... import``."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            found.append((target, [a.name for a in node.names], id(node) not in top))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqprep"):
            found.append((node.module, [a.name for a in node.names], id(node) not in top))
    return found


def test_no_module_imports_another_packages_private_name():
    modules = _modules()
    offences = []
    for module, path in modules.items():
        for target, names, _ in _imports(module, path):
            if _unit(target) == _unit(module) or target in TOOLBOX:
                continue
            private_parts = [p for p in target.split(".")[1:] if p.startswith("_")]
            private_names = [n for n in names if n.startswith("_") and n != "__version__"]
            # `from seqprep.pkg import _mod` names a private module of another package too
            if private_parts or private_names:
                offences.append(f"{module} imports {target}: {private_names or private_parts}")
    assert offences == []


def test_no_import_cycle_between_packages():
    # The one import that runs back up: Pipeline's convenience methods delegating to outofcore
    # (imported inside the methods; the comment at the import says so).
    allowed = {("seqprep.pipeline", "seqprep.outofcore")}
    graph: dict[str, set[str]] = {}
    for module, path in _modules().items():
        if module == "seqprep":
            continue
        for target, _names, _ in _imports(module, path):
            if target == "seqprep":
                continue
            a, b = _unit(module), _unit(target)
            if a != b and (a, b) not in allowed and b in {_unit(m) for m in _modules()}:
                graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    cycles = sorted(a for a in graph if reaches(a, a, set()))
    assert cycles == []


def test_every_private_module_declares_all():
    missing = [m for m, p in _modules().items() if p.name.startswith("_") and p.name != "__main__.py"
               and "__all__" not in p.read_text(encoding="utf-8")]
    assert missing == []

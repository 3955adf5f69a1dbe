#!/usr/bin/env python3
"""Exercise experiment_template.py the way the sandbox runs it, and print a table.

    /usr/bin/python3 python/check_template.py [-j JOBS] [-k NAME_SUBSTRING]

For every case the template is copied to /tmp/template-check/<case>/<case>.py with
<case>.config.json beside it (never into the repo), run with the working directory
set to that folder, and its output checked against the contract: exactly one strict
JSON line on stdout, exit code 0/1 matching "success", the same document in
EXPERIMENT_RESULT_PATH, nothing written next to the script, plus per-case
expectations. Exits 1 when any expectation fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "experiment_template.py")
FIXTURES = os.path.join(os.path.dirname(HERE), "test", "fixtures", "csv")
DATA = "/work/shared/data"
WORK = "/tmp/template-check"
PYTHON = "/usr/bin/python3"
PYTHON39 = "/root/.pyenv/versions/3.9.18/bin/python"  # has no numpy: exercises the import-failure path

CLASSIFIERS = [
    "LogisticRegression", "RandomForestClassifier", "GradientBoostingClassifier", "DecisionTreeClassifier",
    "ExtraTreesClassifier", "SVC", "KNeighborsClassifier", "GaussianNB", "AdaBoostClassifier",
]
REGRESSORS = [
    "LinearRegression", "Ridge", "Lasso", "ElasticNet", "RandomForestRegressor", "GradientBoostingRegressor",
    "DecisionTreeRegressor", "ExtraTreesRegressor", "SVR", "KNeighborsRegressor", "AdaBoostRegressor",
]
PENGUIN_COLUMNS = "species, island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, sex"

Check = Callable[[Dict[str, Any]], Optional[str]]


@dataclass
class Case:
    name: str
    dataset: str
    target: str
    task: str
    model: str
    params: Dict[str, Any] = field(default_factory=dict)
    preprocessing: Dict[str, Any] = field(default_factory=dict)
    config: Dict[str, Any] = field(default_factory=dict)  # overrides / extra fields
    success: bool = True
    error: Optional[str] = None  # exact message, or prefix when it ends with "..."
    checks: List[Check] = field(default_factory=list)
    relative: bool = False  # copy the data next to the script and use a relative dataFile
    write_config: bool = True
    python: str = PYTHON


@dataclass
class Outcome:
    case: Case
    seconds: float
    result: Optional[Dict[str, Any]]
    problems: List[str]


# ---------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------


def metric_above(name: str, low: float) -> Check:
    def check(result):
        value = result.get("metrics", {}).get(name)
        return None if value is not None and value > low else f"{name}={value} not > {low}"
    return check


def has_metrics(*names: str) -> Check:
    def check(result):
        missing = [n for n in names if n not in result.get("metrics", {})]
        return f"missing metrics {missing}" if missing else None
    return check


def lacks_metrics(*names: str) -> Check:
    def check(result):
        present = [n for n in names if n in result.get("metrics", {})]
        return f"unexpected metrics {present}" if present else None
    return check


def detail(path: str, expected: Any) -> Check:
    def check(result):
        value: Any = result.get("details", {})
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value == expected else f"details.{path}={value!r}, expected {expected!r}"
    return check


def dropped(*columns: str) -> Check:
    def check(result):
        gone = result.get("details", {}).get("columns", {}).get("dropped", {})
        missing = [c for c in columns if c not in gone]
        return f"columns {missing} not dropped (dropped: {gone})" if missing else None
    return check


def warning_contains(text: str) -> Check:
    def check(result):
        return None if any(text in w for w in result.get("warnings", [])) else f"no warning containing {text!r}"
    return check


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def penguins(name, model, **kw) -> Case:
    return Case(name, "penguins.csv", "species", "classification", model, **kw)


def mpg(name, model, **kw) -> Case:
    return Case(name, "mpg.csv", "mpg", "regression", model, **kw)


def cases() -> List[Case]:
    out: List[Case] = []
    for model in CLASSIFIERS:
        checks = [has_metrics("accuracy", "precision", "recall", "f1", "cv_f1_mean", "cv_f1_std"),
                  detail("columns.categorical", ["island", "sex"]), detail("droppedTargetRows", 0)]
        if model in ("LogisticRegression", "RandomForestClassifier"):
            checks.append(metric_above("accuracy", 0.9))
        if model == "SVC":
            checks.append(warning_contains("roc_auc skipped"))
        else:
            checks.append(has_metrics("roc_auc"))
        out.append(penguins(f"penguins-{model}", model, checks=checks))
    for model in REGRESSORS:
        checks = [has_metrics("rmse", "mae", "r2", "cv_rmse_mean", "cv_rmse_std"), dropped("name"),
                  detail("columns.categorical", ["origin"]), metric_above("r2", 0.5)]
        out.append(mpg(f"mpg-{model}", model, checks=checks))

    out += [
        Case("diamonds-RandomForestRegressor", "diamonds.csv", "price", "regression", "RandomForestRegressor",
             params={"n_estimators": 20, "max_depth": 14},
             checks=[metric_above("r2", 0.95), detail("rows", 53940),
                     detail("columns.categorical", ["cut", "color", "clarity"])]),
        Case("diamonds-Ridge-log", "diamonds.csv", "price", "regression", "Ridge",
             preprocessing={"targetTransform": "log"},
             checks=[has_metrics("rmse_original", "mae_original", "r2_original", "cv_rmse_mean"),
                     metric_above("r2", 0.95)]),
        # variants
        penguins("penguins-binary-sex-SVC", "SVC", config={"targetColumn": "sex"},
                 checks=[has_metrics("roc_auc"), detail("droppedTargetRows", 11)]),
        penguins("penguins-SVC-proba-verbose", "SVC", params={"probability": True, "verbose": True},
                 checks=[has_metrics("roc_auc")]),
        penguins("penguins-KNN-ordinal-minmax", "KNeighborsClassifier",
                 preprocessing={"encoding": "ordinal", "scaling": "minmax"}, checks=[metric_above("accuracy", 0.9)]),
        penguins("penguins-LR-constant-robust", "LogisticRegression",
                 preprocessing={"missingValues": "constant", "scaling": "robust"},
                 checks=[metric_above("accuracy", 0.9)]),
        penguins("penguins-LR-drop-none", "LogisticRegression", params={"max_iter": 5},
                 preprocessing={"missingValues": "drop", "scaling": "none"},
                 checks=[warning_contains("ConvergenceWarning: "), detail("droppedMissingRows", 11)]),
        penguins("penguins-GaussianNB-cv1", "GaussianNB", config={"cvFolds": 1},
                 checks=[lacks_metrics("cv_f1_mean"), warning_contains("cross-validation skipped")]),
        mpg("mpg-Ridge-log-drop", "Ridge", preprocessing={"targetTransform": "log", "missingValues": "drop"},
            checks=[has_metrics("rmse_original", "r2_original"), detail("droppedMissingRows", 6),
                    detail("rowsUsed", 392)]),
        mpg("mpg-GBR-verbose", "GradientBoostingRegressor", params={"verbose": 1, "n_estimators": 30}),
        mpg("mpg-origin-classification", "RandomForestClassifier", config={"targetColumn": "origin",
                                                                              "taskType": "classification"},
            checks=[has_metrics("roc_auc"), metric_above("accuracy", 0.6)]),
        mpg("mpg-one-test-row", "LinearRegression", config={"testSize": 0.0025},
            checks=[lacks_metrics("r2"), has_metrics("rmse", "mae"), warning_contains("Metric 'r2' is not finite"),
                    detail("testRows", 1)]),
        # generated variants of penguins: tab / pipe delimiters, BOM, CRLF, '?' and 'inf' cells, trailing delimiter
        Case("adhoc-penguins-tab", "penguins_tab.tsv", "species", "classification", "RandomForestClassifier",
             checks=[detail("delimiter", "\t"), dropped("Unnamed: 7"), detail("columns.categorical", ["island", "sex"]),
                     metric_above("accuracy", 0.9)]),
        Case("adhoc-penguins-pipe", "penguins_pipe.csv", "species", "classification", "LogisticRegression",
             checks=[detail("delimiter", "|"), dropped("row_id", "note"), warning_contains("infinite"),
                     warning_contains("non-numeric value"), metric_above("accuracy", 0.9),
                     detail("columns.numeric", ["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                                "body_mass_g"])]),
        # fixtures (data copied next to the script, relative dataFile)
        Case("fixture-semicolon", "semicolon.csv", "price", "regression", "RandomForestRegressor", relative=True,
             checks=[detail("delimiter", ";"), detail("columns.categorical", ["city", "balcony"]),
                     metric_above("r2", 0.8)]),
        Case("fixture-latin1", "latin1.csv", "segment", "classification", "LogisticRegression", relative=True,
             checks=[detail("encoding", "latin-1"), warning_contains("latin-1"),
                     detail("columns.categorical", ["surname", "city", "favourite_drink"]),
                     metric_above("accuracy", 0.7)]),
        Case("fixture-datetime", "datetime.csv", "load_kw", "regression", "GradientBoostingRegressor",
             relative=True,
             checks=[detail("columns.datetime", ["timestamp", "contract_start"]),
                     detail("columns.numeric", ["temperature_c", "humidity"]), metric_above("r2", 0.6)]),
        Case("fixture-id_column", "id_column.csv", "churned", "classification", "RandomForestClassifier",
             relative=True,
             checks=[dropped("id", "customer_ref"), detail("columns.numeric", ["tenure_months", "monthly_fee"]),
                     metric_above("accuracy", 0.7)]),
        Case("fixture-blank_targets", "blank_targets.csv", "label", "classification", "LogisticRegression",
             relative=True,
             checks=[detail("droppedTargetRows", 15), detail("rowsUsed", 105), warning_contains("missing target"),
                     metric_above("accuracy", 0.7)]),
        Case("fixture-one_member_class", "one_member_class.csv", "grade", "classification",
             "RandomForestClassifier", relative=True,
             checks=[warning_contains("'E'"), warning_contains("unstratified"), metric_above("accuracy", 0.6)]),
        # failures
        penguins("fail-unknown-model", "XGBoostClassifier", success=False,
                 error="Unknown modelType 'XGBoostClassifier' for classification; allowed: " + ", ".join(CLASSIFIERS)),
        penguins("fail-regressor-for-classification", "RandomForestRegressor", success=False,
                 error="Unknown modelType 'RandomForestRegressor' for classification; allowed: ..."),
        penguins("fail-missing-target", "LogisticRegression", config={"targetColumn": "nope"}, success=False,
                 error=f"Target column 'nope' not found; columns are: {PENGUIN_COLUMNS}"),
        penguins("fail-bad-params", "RandomForestClassifier", params={"n_estimators": "many"}, success=False,
                 error="Invalid modelParams for RandomForestClassifier: ..."),
        penguins("fail-unknown-param", "RandomForestClassifier", params={"n_trees": 10}, success=False,
                 error="Invalid modelParams for RandomForestClassifier: unknown parameter(s) 'n_trees'; ..."),
        penguins("fail-bad-param-value-svc", "SVC", params={"C": -1}, success=False,
                 error="Invalid modelParams for SVC: ..."),
        penguins("fail-log-for-classification", "LogisticRegression", preprocessing={"targetTransform": "log"},
                 success=False, error="targetTransform 'log' is only valid for regression"),
        penguins("fail-nonnumeric-regression-target", "Ridge", config={"taskType": "regression"}, success=False,
                 error="Target column 'species' is not numeric (e.g. 'Adelie', 'Chinstrap', 'Gentoo'); "
                       "regression needs a numeric target"),
        penguins("fail-bad-scaling", "LogisticRegression", preprocessing={"scaling": "zscore"}, success=False,
                 error="Invalid preprocessing.scaling 'zscore'; allowed: standard, minmax, robust, none"),
        penguins("fail-missing-data-file", "LogisticRegression", config={"dataFile": "no/such.csv"}, success=False,
                 error="Data file not found: ..."),
        penguins("fail-no-config", "LogisticRegression", write_config=False, success=False,
                 error="Config file not found: ..."),
    ]
    if os.path.exists(PYTHON39):
        out.append(penguins("fail-python39-no-numpy", "LogisticRegression", python=PYTHON39, success=False,
                            error="ModuleNotFoundError: No module named 'numpy'"))
    return out


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def data_path(dataset: str) -> str:
    for folder in (FIXTURES, os.path.join(WORK, "data")):
        if os.path.exists(os.path.join(folder, dataset)):
            return os.path.join(folder, dataset)
    return os.path.join(DATA, dataset)


def make_adhoc_data() -> None:
    """Messier variants of penguins.csv under /tmp/template-check/data (stdlib only)."""
    import csv
    folder = os.path.join(WORK, "data")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(DATA, "penguins.csv"), newline="") as handle:
        rows = list(csv.reader(handle))
    with open(os.path.join(folder, "penguins_tab.tsv"), "w", newline="") as handle:
        for row in rows:  # '?' for missing cells and a trailing tab on every line
            handle.write("\t".join(cell if cell else "?" for cell in row) + "\t\n")
    with open(os.path.join(folder, "penguins_pipe.csv"), "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter="|", lineterminator="\r\n")
        for i, row in enumerate(rows):
            if i == 0:
                extra = ["row_id", "note"]
            else:
                extra = [str(i), f"observed by team {i % 97} | \"quoted\" remark {i}"]
                if i == 5:
                    row[5] = "inf"
                if i == 9:
                    row[2] = "not measured"
            writer.writerow(extra[:1] + row + extra[1:])


def reject_constant(name: str) -> Any:
    raise ValueError(f"non-strict JSON constant {name}")


def prepare(case: Case) -> Dict[str, str]:
    folder = os.path.join(WORK, case.name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    script = os.path.join(folder, case.name + ".py")
    shutil.copyfile(TEMPLATE, script)
    data_file = data_path(case.dataset)
    if case.relative:
        os.makedirs(os.path.join(folder, "data"))
        shutil.copyfile(data_file, os.path.join(folder, "data", case.dataset))
        data_file = "data/" + case.dataset
    config = {
        "experimentName": case.name,
        "modelType": case.model,
        "modelParams": case.params,
        "taskType": case.task,
        "targetColumn": case.target,
        "dataFile": data_file,
        "preprocessing": {"missingValues": "median", "scaling": "standard", "encoding": "onehot", **case.preprocessing},
        "seed": 42,
        "testSize": 0.2,
        "cvFolds": 5,
        **case.config,
    }
    if case.write_config:
        with open(os.path.splitext(script)[0] + ".config.json", "w") as handle:
            json.dump(config, handle, indent=2)
    return {"folder": folder, "script": script, "result": os.path.join(WORK, "results", case.name + ".json")}


def listing(folder: str) -> List[str]:
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, files in os.walk(folder) for f in files)


def run(case: Case) -> Outcome:
    paths = prepare(case)
    before = listing(paths["folder"])
    env = {**os.environ, "EXPERIMENT_RESULT_PATH": paths["result"]}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.time()
    proc = subprocess.run([case.python, paths["script"]], cwd=paths["folder"], env=env,
                          capture_output=True, text=True, timeout=1800)
    seconds = time.time() - started
    with open(os.path.join(paths["folder"], "..", "results", case.name + ".stderr"), "w") as handle:
        handle.write(proc.stderr)
    problems: List[str] = []
    result = None
    lines = proc.stdout.splitlines()
    if len(lines) != 1:
        problems.append(f"stdout has {len(lines)} lines: {proc.stdout[:300]!r}")
    try:
        result = json.loads(lines[-1] if lines else "", parse_constant=reject_constant)
    except ValueError as exc:
        problems.append(f"stdout is not strict JSON: {exc}")
    if listing(paths["folder"]) != before:
        problems.append(f"files written next to the script: {sorted(set(listing(paths['folder'])) - set(before))}")
    if result is not None:
        problems += contract_problems(case, result, proc.returncode, paths["result"], lines[-1])
    return Outcome(case, seconds, result, problems)


def contract_problems(case: Case, result: Dict[str, Any], code: int, result_path: str, line: str) -> List[str]:
    problems = []
    expected_keys = (["success", "metrics", "warnings", "provenance", "details"] if result.get("success")
                     else ["success", "error", "warnings", "provenance"])
    if list(result) != expected_keys:
        problems.append(f"top-level keys {list(result)}")
    if code != (0 if result.get("success") else 1):
        problems.append(f"exit code {code} for success={result.get('success')}")
    provenance = result.get("provenance", {})
    if set(provenance) != {"python", "sklearn", "numpy", "pandas", "seed"}:
        problems.append(f"provenance keys {sorted(provenance)}")
    try:
        with open(result_path) as handle:
            if handle.read().strip() != line.strip():
                problems.append("EXPERIMENT_RESULT_PATH content differs from stdout")
    except OSError as exc:
        problems.append(f"no result file: {exc}")
    if result.get("success") != case.success:
        problems.append(f"expected success={case.success}, got {result.get('success')}: {result.get('error')}")
    elif case.error is not None:
        message = result.get("error", "")
        ok = message.startswith(case.error[:-3]) if case.error.endswith("...") else message == case.error
        if not ok:
            problems.append(f"error {message!r} does not match {case.error!r}")
    if result.get("success"):
        problems += [p for p in (check(result) for check in case.checks) if p]
    return problems


# ---------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------


def key_metrics(result: Optional[Dict[str, Any]]) -> str:
    if result is None:
        return "(no result)"
    if not result.get("success"):
        return "error: " + result.get("error", "")
    m = result["metrics"]
    parts = []
    for name, label in (("accuracy", "acc"), ("f1", "f1"), ("roc_auc", "auc"), ("rmse", "rmse"), ("r2", "r2"),
                        ("rmse_original", "rmse_orig"), ("r2_original", "r2_orig")):
        if name in m:
            parts.append(f"{label}={m[name]:.3f}" if abs(m[name]) < 1000 else f"{label}={m[name]:.0f}")
    for prefix in ("cv_f1", "cv_rmse"):
        if prefix + "_mean" in m:
            parts.append(f"{prefix}={m[prefix + '_mean']:.3f}±{m[prefix + '_std']:.3f}")
    return " ".join(parts)


def print_table(outcomes: List[Outcome]) -> None:
    header = f"{'case':<38} {'model':<27} {'dataset':<21} {'check':<5} {'secs':>6}  key metrics / error"
    print(header)
    print("-" * len(header))
    for o in outcomes:
        status = "ok" if not o.problems else "FAIL"
        text = key_metrics(o.result)
        print(f"{o.case.name:<38} {o.case.model:<27} {o.case.dataset:<21} {status:<5} {o.seconds:6.1f}  {text}")
        for problem in o.problems:
            print(f"{'':<38}   !! {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    parser.add_argument("-k", "--only", default="", help="run only cases whose name contains this")
    args = parser.parse_args()
    os.makedirs(os.path.join(WORK, "results"), exist_ok=True)
    make_adhoc_data()
    selected = [c for c in cases() if args.only in c.name]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run, selected))
    print_table(outcomes)
    failed = [o.case.name for o in outcomes if o.problems]
    print(f"\n{len(outcomes) - len(failed)}/{len(outcomes)} cases as expected"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    print(f"scripts, configs and results: {WORK}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generic scikit-learn experiment script (experiment-sandbox template).

Contract
--------
The CodeGenerator copies this file to ``<outDir>/<experimentName>.py`` and writes
``<outDir>/<experimentName>.config.json`` beside it. The script reads the config
found at ``os.path.splitext(os.path.abspath(__file__))[0] + ".config.json"``.
The script's folder may be read-only: the script never writes next to itself.

Config fields: experimentName (str), modelType (str, from MODELS below),
modelParams (object, passed to the model constructor as keyword arguments only),
taskType ("classification" | "regression"), targetColumn (str), dataFile (path,
relative to the script's folder or absolute), preprocessing {missingValues:
median|mean|most_frequent|constant|drop, scaling: standard|minmax|robust|none,
encoding: onehot|ordinal, targetTransform: log|none}, seed (int, default 42),
testSize (float in (0, 1), default 0.2), cvFolds (int, default 5; 0 or 1 skips
cross-validation with a warning).

Output: exactly one JSON line on stdout, written at the very end. Everything
else (progress, verbose model output, tracebacks) goes to stderr; stdout is
redirected to stderr at the file-descriptor level while the experiment runs.
  success: {"success": true, "metrics": {...}, "warnings": [...],
            "provenance": {"python", "sklearn", "numpy", "pandas", "seed"},
            "details": {"rows", "rowsUsed", "droppedTargetRows",
                        "droppedMissingRows", "trainRows", "testRows",
                        "delimiter", "encoding",
                        "columns": {"numeric", "categorical", "datetime",
                                    "dropped": {column: reason}}}}
  failure: {"success": false, "error": "...", "warnings": [...],
            "provenance": {...}}  and exit code 1.
When EXPERIMENT_RESULT_PATH is set, the same JSON document is also written to
that file (best effort). The JSON is strict (no NaN/Infinity): a non-finite
metric is left out and named in "warnings".

Metrics: classification accuracy, precision, recall, f1 (weighted), roc_auc
(when defined), cv_f1_mean, cv_f1_std; regression rmse, mae, r2, cv_rmse_mean,
cv_rmse_std, plus rmse_original, mae_original, r2_original with
targetTransform "log" (the other regression metrics and CV are then on the
log1p scale).

Column roles (every column except the target), decided in this order:
  1. all values missing                        -> dropped
  2. a single distinct value                   -> dropped (constant)
  3. boolean dtype                             -> categorical
  4. numeric dtype                             -> numeric, except integer
     columns whose values are all unique AND whose name looks like an
     identifier (id, ID, idx, index, key, uuid, Unnamed: 0, *_id, *Id,
     id_*, ...)                                -> dropped (ID-like)
  5. text columns (values are stripped; "" counts as missing):
     a. >= 95% of non-empty values parse as numbers -> numeric (the rest
        become missing, with a warning); then the ID rule of step 4 applies
     b. >= 90% of non-empty values (checked on a sample of distinct values)
        look like dates (2021-03-04, 04/03/2021, 4.3.21, 12:30, "Mar 4 2021")
        AND parse as date-times                -> datetime, expanded into
        numeric <col>_year, <col>_month, <col>_day, <col>_dayofweek and
        <col>_hour when any value has a time of day; a part that is constant
        is left out
     c. every non-empty value unique           -> dropped (ID-like / free text)
     d. more than max(50, 50% of the non-empty values) distinct values
                                               -> dropped (free text /
                                                  high cardinality)
     e. otherwise                              -> categorical
  6. any other dtype                           -> dropped (unsupported)
Numeric ±inf values become missing (with a warning). Categorical values are
one-hot encoded with at most MAX_ONEHOT_CATEGORIES output columns per feature
(rare and unseen values share an "infrequent" column), so a wide categorical
cannot explode memory.
"""
from __future__ import annotations

import contextlib
import csv
import importlib
import inspect
import json
import math
import os
import platform
import re
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

try:
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        make_scorer,
        mean_absolute_error,
        mean_squared_error,
        precision_score,
        r2_score,
        recall_score,
        roc_auc_score,
    )
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        RobustScaler,
        StandardScaler,
    )
except Exception as _exc:  # reported as a JSON failure by main()
    _IMPORT_ERROR: Optional[BaseException] = _exc
else:
    _IMPORT_ERROR = None


# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

MODELS: Dict[str, Dict[str, Tuple[str, str]]] = {
    "classification": {
        "LogisticRegression": ("sklearn.linear_model", "LogisticRegression"),
        "RandomForestClassifier": ("sklearn.ensemble", "RandomForestClassifier"),
        "GradientBoostingClassifier": ("sklearn.ensemble", "GradientBoostingClassifier"),
        "DecisionTreeClassifier": ("sklearn.tree", "DecisionTreeClassifier"),
        "ExtraTreesClassifier": ("sklearn.ensemble", "ExtraTreesClassifier"),
        "SVC": ("sklearn.svm", "SVC"),
        "KNeighborsClassifier": ("sklearn.neighbors", "KNeighborsClassifier"),
        "GaussianNB": ("sklearn.naive_bayes", "GaussianNB"),
        "AdaBoostClassifier": ("sklearn.ensemble", "AdaBoostClassifier"),
    },
    "regression": {
        "LinearRegression": ("sklearn.linear_model", "LinearRegression"),
        "Ridge": ("sklearn.linear_model", "Ridge"),
        "Lasso": ("sklearn.linear_model", "Lasso"),
        "ElasticNet": ("sklearn.linear_model", "ElasticNet"),
        "RandomForestRegressor": ("sklearn.ensemble", "RandomForestRegressor"),
        "GradientBoostingRegressor": ("sklearn.ensemble", "GradientBoostingRegressor"),
        "DecisionTreeRegressor": ("sklearn.tree", "DecisionTreeRegressor"),
        "ExtraTreesRegressor": ("sklearn.ensemble", "ExtraTreesRegressor"),
        "SVR": ("sklearn.svm", "SVR"),
        "KNeighborsRegressor": ("sklearn.neighbors", "KNeighborsRegressor"),
        "AdaBoostRegressor": ("sklearn.ensemble", "AdaBoostRegressor"),
    },
}

PREPROCESSING_OPTIONS: Dict[str, Tuple[str, ...]] = {
    "missingValues": ("median", "mean", "most_frequent", "constant", "drop"),
    "scaling": ("standard", "minmax", "robust", "none"),
    "encoding": ("onehot", "ordinal"),
    "targetTransform": ("none", "log"),
}
PREPROCESSING_DEFAULTS = {
    "missingValues": "median",
    "scaling": "standard",
    "encoding": "onehot",
    "targetTransform": "none",
}

DEFAULT_SEED = 42
DEFAULT_TEST_SIZE = 0.2
DEFAULT_CV_FOLDS = 5
MIN_ROWS = 10  # usable rows needed for a train/test split plus CV

SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
EXTRA_NA_VALUES = ["?"]  # on top of pandas' defaults ("", "NA", "N/A", "null", "NaN", ...)

NUMERIC_SHARE = 0.95
DATETIME_SHARE = 0.90
DATETIME_SAMPLE = 500
HIGH_CARDINALITY_MIN = 50
HIGH_CARDINALITY_SHARE = 0.5
MAX_ONEHOT_CATEGORIES = 20

MAX_PYTHON_WARNINGS = 20
MAX_MESSAGE_CHARS = 500

ID_NAME = re.compile(
    r"^(id|idx|index|key|uuid|guid|rowid|row_?num(ber)?|unnamed:?\s*\d*)$"
    r"|^.*[_\-\s.](id|idx|uuid|guid)$"
    r"|^(id|uuid|guid)[_\-\s.].*$",
    re.IGNORECASE,
)
CAMEL_CASE_ID = re.compile(r"[a-z0-9](Id|ID)$")
DATE_LIKE = re.compile(
    r"\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?"  # 2021-03-04, 2021/3/4, 2021-03
    r"|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"  # 04/03/2021, 4.3.21
    r"|\b\d{1,2}:\d{2}"  # 12:30
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*\d"  # Mar 4
    r"|\d\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",  # 4 Mar
    re.IGNORECASE,
)


class ExperimentError(Exception):
    """A failure with a message meant for the user (reported without its type)."""


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[experiment] {message}", file=sys.stderr, flush=True)


class Report:
    """Collects our own warnings (deduplicated, in order) and the seed in use."""

    def __init__(self) -> None:
        self.warnings: List[str] = []
        self.seed: int = DEFAULT_SEED

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def one_line(text: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quote_list(values: List[Any], limit: int = 10) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# ---------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------


@dataclass
class Config:
    experiment_name: str
    model_type: str
    model_params: Dict[str, Any]
    task_type: str
    target_column: str
    data_file: str  # absolute path
    missing_values: str
    scaling: str
    encoding: str
    target_transform: str
    seed: int
    test_size: float
    cv_folds: int

    @property
    def is_classification(self) -> bool:
        return self.task_type == "classification"


def config_path() -> str:
    return os.path.splitext(os.path.abspath(__file__))[0] + ".config.json"


def load_config(path: str, report: Report) -> Config:
    if not os.path.isfile(path):
        raise ExperimentError(f"Config file not found: {path}")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            raw = json.load(handle)
    except ValueError as exc:
        raise ExperimentError(f"Config file is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ExperimentError("Config file must contain a JSON object")

    seed = _int_field(raw, "seed", DEFAULT_SEED, 0, 2**32 - 1)
    report.seed = seed
    task_type = _str_field(raw, "taskType")
    if task_type not in MODELS:
        raise ExperimentError(f"Invalid taskType '{task_type}'; allowed: {', '.join(MODELS)}")
    params = raw.get("modelParams", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ExperimentError("modelParams must be a JSON object")
    prep = _preprocessing(raw.get("preprocessing"))
    if prep["targetTransform"] == "log" and task_type != "regression":
        raise ExperimentError("targetTransform 'log' is only valid for regression")

    test_size = raw.get("testSize", DEFAULT_TEST_SIZE)
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ExperimentError(f"testSize must be a number between 0 and 1 (exclusive), got {test_size!r}")
    cv_folds = _int_field(raw, "cvFolds", DEFAULT_CV_FOLDS, 0, 1000)

    script_dir = os.path.dirname(os.path.abspath(__file__))
    data_file = _str_field(raw, "dataFile")
    if not os.path.isabs(data_file):
        data_file = os.path.join(script_dir, data_file)

    return Config(
        experiment_name=str(raw.get("experimentName", "")),
        model_type=_str_field(raw, "modelType"),
        model_params=params,
        task_type=task_type,
        target_column=_str_field(raw, "targetColumn"),
        data_file=os.path.normpath(data_file),
        missing_values=prep["missingValues"],
        scaling=prep["scaling"],
        encoding=prep["encoding"],
        target_transform=prep["targetTransform"],
        seed=seed,
        test_size=float(test_size),
        cv_folds=cv_folds,
    )


def _str_field(raw: Dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ExperimentError(f"Config field '{key}' must be a non-empty string")
    return value


def _int_field(raw: Dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if value is None:
        value = default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ExperimentError(f"Config field '{key}' must be an integer between {low} and {high}, got {value!r}")
    return value


def _preprocessing(raw: Any) -> Dict[str, str]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ExperimentError("preprocessing must be a JSON object")
    chosen = {}
    for key, allowed in PREPROCESSING_OPTIONS.items():
        value = raw.get(key)
        value = PREPROCESSING_DEFAULTS[key] if value is None else value
        if value not in allowed:
            raise ExperimentError(f"Invalid preprocessing.{key} {value!r}; allowed: {', '.join(allowed)}")
        chosen[key] = value
    return chosen


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


def make_model(cfg: Config) -> Any:
    """Build the allowlisted model from JSON keyword arguments (never eval)."""
    allowed = MODELS[cfg.task_type]
    if cfg.model_type not in allowed:
        raise ExperimentError(
            f"Unknown modelType '{cfg.model_type}' for {cfg.task_type}; allowed: {', '.join(allowed)}"
        )
    module_name, class_name = allowed[cfg.model_type]
    model_class = getattr(importlib.import_module(module_name), class_name)

    valid = model_class().get_params(deep=False)
    unknown = [key for key in cfg.model_params if key not in valid]
    if unknown:
        raise ExperimentError(
            f"Invalid modelParams for {cfg.model_type}: unknown parameter(s) {quote_list(unknown)}; "
            f"valid parameters: {', '.join(sorted(valid))}"
        )
    params = dict(cfg.model_params)
    if "random_state" in valid and "random_state" not in params:
        params["random_state"] = cfg.seed
    try:
        return model_class(**params)
    except (TypeError, ValueError) as exc:
        raise ExperimentError(f"Invalid modelParams for {cfg.model_type}: {exc}") from exc


# ---------------------------------------------------------------------------
# Reading the data
# ---------------------------------------------------------------------------


@dataclass
class Table:
    frame: Any  # pandas.DataFrame
    delimiter: str
    encoding: str


def sniff_delimiter(sample: str) -> str:
    """Pick the delimiter among DELIMITERS from a text sample, defaulting to ','."""
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of the sample may be cut short
    if not lines:
        return ","
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","
    return delimiter if delimiter in lines[0] else ","


def read_table(path: str, report: Report) -> Table:
    if not os.path.isfile(path):
        raise ExperimentError(f"Data file not found: {path}")
    with open(path, "rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if not sample.strip():
        raise ExperimentError(f"Data file is empty: {path}")
    delimiter = sniff_delimiter(sample.decode("utf-8", errors="replace").lstrip("\ufeff"))

    frame, used_encoding = None, ""
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            frame = pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                skipinitialspace=True,
                na_values=EXTRA_NA_VALUES,
                low_memory=False,
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise ExperimentError(f"Data file has no columns: {path}") from exc
        except pd.errors.ParserError as exc:
            raise ExperimentError(f"Could not parse data file (delimiter {delimiter!r}): {one_line(exc)}") from exc
        used_encoding = encoding
        break
    if used_encoding == "latin-1":
        report.warn("Data file is not valid UTF-8; it was read as latin-1")

    stripped = [str(name).strip() for name in frame.columns]
    if len(set(stripped)) == len(stripped):
        frame.columns = stripped
    if len(frame) == 0:
        raise ExperimentError(f"Data file has a header but no rows: {path}")
    return Table(frame=frame, delimiter=delimiter, encoding="utf-8" if used_encoding == "utf-8-sig" else used_encoding)


# ---------------------------------------------------------------------------
# Target
# ---------------------------------------------------------------------------


def find_target(frame: Any, target: str) -> str:
    if target in frame.columns:
        return target
    if target.strip() in frame.columns:
        return target.strip()
    columns = ", ".join(str(name) for name in frame.columns)
    raise ExperimentError(f"Target column '{target}' not found; columns are: {columns}")


def clean_text(series: Any) -> Any:
    """Stripped strings as an object Series; missing and blank values become NaN."""
    text = series.astype(str).str.strip().where(series.notna())
    return text.mask(text == "").astype(object)


def split_target(frame: Any, target: str, cfg: Config, report: Report) -> Tuple[Any, Any, int]:
    """Drop rows without a target; return (features, y as ndarray, dropped count)."""
    raw = frame[target]
    is_text = not pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw)
    values = clean_text(raw) if is_text else raw
    keep = values.notna().to_numpy()
    dropped = int((~keep).sum())
    if dropped:
        report.warn(f"Dropped {dropped} row(s) with a missing target '{target}'")
    values = values[keep]
    features = frame.loc[keep].drop(columns=[target]).reset_index(drop=True)
    if len(values) == 0:
        raise ExperimentError(f"Target column '{target}' has no non-missing values")

    if cfg.is_classification:
        y = class_labels(values)
        classes = pd.Series(y).value_counts()
        if len(classes) < 2:
            raise ExperimentError(
                f"Target column '{target}' has a single class ({classes.index[0]!r}); classification needs at least 2"
            )
        if len(classes) > HIGH_CARDINALITY_MIN and len(classes) > 0.5 * len(y):
            report.warn(f"Target '{target}' has {len(classes)} classes in {len(y)} rows; is this a regression target?")
        return features, y, dropped

    numbers = pd.to_numeric(values, errors="coerce")
    bad = values[numbers.isna()]
    if len(bad):
        examples = quote_list(list(pd.unique(bad))[:3])
        raise ExperimentError(
            f"Target column '{target}' is not numeric (e.g. {examples}); regression needs a numeric target"
        )
    y = numbers.to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise ExperimentError(f"Target column '{target}' contains infinite values")
    return features, y, dropped


def class_labels(values: Any) -> Any:
    """Class labels as strings; integral numbers lose a spurious '.0' (1.0 -> '1')."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        if (numbers == numbers.round()).all():
            return numbers.astype("int64").astype(str).to_numpy(dtype=object)
    return values.astype(str).str.strip().to_numpy(dtype=object)


# ---------------------------------------------------------------------------
# Column roles
# ---------------------------------------------------------------------------


@dataclass
class ColumnPlan:
    inputs: Dict[str, Any] = field(default_factory=dict)  # model input name -> cleaned Series
    numeric_inputs: List[str] = field(default_factory=list)  # incl. datetime parts
    categorical_inputs: List[str] = field(default_factory=list)
    numeric: List[str] = field(default_factory=list)  # source columns, for the report
    categorical: List[str] = field(default_factory=list)
    datetime: List[str] = field(default_factory=list)
    dropped: Dict[str, str] = field(default_factory=dict)
    reserved: set = field(default_factory=set)  # source column names, not free for derived parts

    def add_numeric(self, name: str, values: Any) -> None:
        self.inputs[name] = values
        self.numeric_inputs.append(name)

    def add_categorical(self, name: str, values: Any) -> None:
        self.inputs[name] = values
        self.categorical_inputs.append(name)
        self.categorical.append(name)

    def frame(self) -> Any:
        return pd.DataFrame(self.inputs)


def looks_like_id_name(name: str) -> bool:
    return bool(ID_NAME.match(name.strip()) or CAMEL_CASE_ID.search(name.strip()))


def plan_columns(features: Any, report: Report) -> ColumnPlan:
    plan = ColumnPlan(reserved={str(name) for name in features.columns})
    for name in features.columns:
        add_column(plan, str(name), features[name], report)
    if plan.dropped:
        listed = "; ".join(f"{name}: {reason}" for name, reason in plan.dropped.items())
        report.warn(f"Dropped column(s): {listed}")
    if not plan.inputs:
        raise ExperimentError("No usable feature columns remain (every feature column was dropped)")
    return plan


def add_column(plan: ColumnPlan, name: str, series: Any, report: Report) -> None:
    is_bool = pd.api.types.is_bool_dtype(series)
    is_number = pd.api.types.is_numeric_dtype(series) and not is_bool
    is_datetime = pd.api.types.is_datetime64_any_dtype(series)
    values = series if (is_number or is_datetime) else clean_text(series)

    non_missing = values.dropna()
    if len(non_missing) == 0:
        plan.dropped[name] = "all values missing"
        return
    distinct = non_missing.nunique()
    if distinct == 1:
        plan.dropped[name] = f"constant (single value {one_line(non_missing.iloc[0], 40)!r})"
        return
    if is_bool:
        plan.add_categorical(name, values)
    elif is_number:
        add_numeric_column(plan, name, values, report)
    elif is_datetime:
        add_datetime_column(plan, name, pd.to_datetime(values, utc=True))
    elif pd.api.types.is_object_dtype(values):
        add_text_column(plan, name, values, non_missing, distinct, report)
    else:
        plan.dropped[name] = f"unsupported column type {series.dtype}"


def add_numeric_column(plan: ColumnPlan, name: str, values: Any, report: Report) -> None:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    present = numbers.dropna()
    integral = bool((present == present.round()).all()) if len(present) else False
    if integral and present.is_unique and looks_like_id_name(name):
        plan.dropped[name] = "ID-like (unique integers, identifier name)"
        return
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        report.warn(f"Column '{name}': {int(infinite.sum())} infinite value(s) treated as missing")
        numbers = numbers.mask(infinite)
    plan.add_numeric(name, numbers)
    plan.numeric.append(name)


def add_text_column(plan: ColumnPlan, name: str, text: Any, non_missing: Any, distinct: int, report: Report) -> None:
    numbers = pd.to_numeric(non_missing, errors="coerce")
    parsed = int(numbers.notna().sum())
    if parsed >= NUMERIC_SHARE * len(non_missing):
        if parsed < len(non_missing):
            report.warn(f"Column '{name}': {len(non_missing) - parsed} non-numeric value(s) treated as missing")
        add_numeric_column(plan, name, pd.to_numeric(text, errors="coerce"), report)
        return
    moments = parse_datetimes(text, non_missing)
    if moments is not None:
        add_datetime_column(plan, name, moments)
        return
    if distinct == len(non_missing):
        plan.dropped[name] = f"ID-like or free text (all {distinct} values unique)"
        return
    if distinct > max(HIGH_CARDINALITY_MIN, HIGH_CARDINALITY_SHARE * len(non_missing)):
        plan.dropped[name] = f"free text / high cardinality ({distinct} distinct values in {len(non_missing)} rows)"
        return
    plan.add_categorical(name, text)


def _to_datetime(values: Any) -> Any:
    """pandas.to_datetime tolerant of mixed formats, silent, never raising."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(values, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        if parsed.notna().mean() < DATETIME_SHARE and int(pd.__version__.split(".")[0]) >= 2:
            try:  # pandas >= 2 infers one format from the first value; retry value by value
                parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
            except (ValueError, TypeError, OverflowError):
                pass
    return parsed


def parse_datetimes(text: Any, non_missing: Any) -> Optional[Any]:
    """Parsed date-times for a date-like text column, else None."""
    distinct = pd.Series(non_missing.unique())
    sample = distinct.sample(n=min(DATETIME_SAMPLE, len(distinct)), random_state=0)
    if sample.str.contains(DATE_LIKE).mean() < DATETIME_SHARE:
        return None
    if _to_datetime(sample).notna().mean() < DATETIME_SHARE:
        return None
    parsed_distinct = _to_datetime(distinct)
    lookup = dict(zip(distinct, parsed_distinct))
    return pd.to_datetime(text.map(lookup), utc=True)


def add_datetime_column(plan: ColumnPlan, name: str, moments: Any) -> None:
    parts = {
        "year": moments.dt.year,
        "month": moments.dt.month,
        "day": moments.dt.day,
        "dayofweek": moments.dt.dayofweek,
    }
    clock = (moments.dt.hour != 0) | (moments.dt.minute != 0) | (moments.dt.second != 0)
    if bool((clock & moments.notna()).any()):
        parts["hour"] = moments.dt.hour
    added = False
    for part, values in parts.items():
        values = values.astype("float64")
        if values.nunique() > 1:
            part_name = f"{name}_{part}"
            while part_name in plan.inputs or part_name in plan.reserved:
                part_name += "_"
            plan.add_numeric(part_name, values)
            added = True
    if added:
        plan.datetime.append(name)
    else:
        plan.dropped[name] = "date-time without varying parts"


def drop_incomplete_rows(X: Any, y: Any, report: Report) -> Tuple[Any, Any, int]:
    incomplete = X.isna().any(axis=1).to_numpy()
    count = int(incomplete.sum())
    if count:
        report.warn(f"missingValues 'drop': dropped {count} row(s) with a missing feature value")
    return X.loc[~incomplete].reset_index(drop=True), y[~incomplete], count


# ---------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------


def make_onehot_encoder() -> Any:
    accepted = inspect.signature(OneHotEncoder).parameters
    options: Dict[str, Any] = {"sparse_output": False} if "sparse_output" in accepted else {"sparse": False}
    if "max_categories" in accepted:
        options.update(max_categories=MAX_ONEHOT_CATEGORIES, handle_unknown="infrequent_if_exist")
    else:
        options.update(handle_unknown="ignore")
    return OneHotEncoder(**options)


def numeric_steps(cfg: Config) -> Any:
    steps = []
    if cfg.missing_values != "drop":
        extra = {"fill_value": 0} if cfg.missing_values == "constant" else {}
        steps.append(("impute", SimpleImputer(strategy=cfg.missing_values, **extra)))
    scalers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    if cfg.scaling in scalers:
        steps.append(("scale", scalers[cfg.scaling]()))
    return Pipeline(steps) if steps else "passthrough"


def categorical_steps(cfg: Config) -> Any:
    steps = []
    if cfg.missing_values == "constant":
        steps.append(("impute", SimpleImputer(strategy="constant", fill_value="missing")))
    elif cfg.missing_values != "drop":
        steps.append(("impute", SimpleImputer(strategy="most_frequent")))
    if cfg.encoding == "onehot":
        steps.append(("encode", make_onehot_encoder()))
    else:
        steps.append(("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)))
    return Pipeline(steps)


def build_pipeline(plan: ColumnPlan, model: Any, cfg: Config) -> Any:
    transformers = []
    if plan.numeric_inputs:
        transformers.append(("numeric", numeric_steps(cfg), plan.numeric_inputs))
    if plan.categorical_inputs:
        transformers.append(("categorical", categorical_steps(cfg), plan.categorical_inputs))
    preprocess = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("preprocess", preprocess), ("model", model)])


def fit_pipeline(pipeline: Any, X: Any, y: Any, cfg: Config) -> None:
    """Fit step by step so that a model error can be blamed on modelParams."""
    features = pipeline.named_steps["preprocess"].fit_transform(X, y)
    try:
        pipeline.named_steps["model"].fit(features, y)
    except (TypeError, ValueError) as exc:
        if cfg.model_params:
            raise ExperimentError(f"Invalid modelParams for {cfg.model_type}: {one_line(exc)}") from exc
        raise ExperimentError(f"Model fit failed for {cfg.model_type}: {type(exc).__name__}: {one_line(exc)}") from exc


# ---------------------------------------------------------------------------
# Split, metrics, cross-validation
# ---------------------------------------------------------------------------


def split_rows(X: Any, y: Any, cfg: Config, report: Report) -> Tuple[Any, Any, Any, Any]:
    stratify = None
    if cfg.is_classification:
        counts = pd.Series(y).value_counts()
        lonely = list(counts[counts < 2].index)
        if lonely:
            report.warn(f"Class(es) with a single row: {quote_list(lonely)}; using an unstratified train/test split")
        else:
            stratify = y
    try:
        return train_test_split(X, y, test_size=cfg.test_size, random_state=cfg.seed, stratify=stratify)
    except ValueError as exc:
        if stratify is None:
            raise ExperimentError(f"Could not split the data: {one_line(exc)}") from exc
        report.warn(f"Stratified split impossible ({one_line(exc)}); using an unstratified split")
        return train_test_split(X, y, test_size=cfg.test_size, random_state=cfg.seed)


def classification_metrics(pipeline: Any, X_test: Any, y_test: Any, report: Report) -> Dict[str, float]:
    predicted = pipeline.predict(X_test)
    metrics = {"accuracy": accuracy_score(y_test, predicted)}
    for name, scorer in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score)):
        metrics[name] = scorer(y_test, predicted, average="weighted", zero_division=0)
    auc = roc_auc(pipeline, X_test, y_test, report)
    if auc is not None:
        metrics["roc_auc"] = auc
    return metrics


def roc_auc(pipeline: Any, X_test: Any, y_test: Any, report: Report) -> Optional[float]:
    if len(np.unique(y_test)) < 2:
        report.warn("roc_auc skipped: the test split contains a single class")
        return None
    classes = list(pipeline.classes_)
    has_proba = hasattr(pipeline, "predict_proba")
    try:
        if len(classes) == 2:
            if has_proba:
                scores = pipeline.predict_proba(X_test)[:, 1]
            elif hasattr(pipeline, "decision_function"):
                scores = pipeline.decision_function(X_test)
            else:
                report.warn("roc_auc skipped: the model gives neither probabilities nor decision scores")
                return None
            return roc_auc_score((np.asarray(y_test) == classes[1]).astype(int), scores)
        if not has_proba:
            report.warn("roc_auc skipped: multiclass ROC AUC needs class probabilities, which this model does not give")
            return None
        absent = [c for c in classes if c not in set(y_test)]
        unseen = sorted(set(y_test) - set(classes))
        if absent or unseen:
            problem = f"class(es) {quote_list(absent)} absent from the test split" if absent else (
                f"test split has class(es) {quote_list(unseen)} unseen in training")
            report.warn(f"roc_auc skipped: {problem}")
            return None
        probabilities = pipeline.predict_proba(X_test)
        return roc_auc_score(y_test, probabilities, multi_class="ovr", labels=classes)
    except Exception as exc:  # undefined for this split; the run still succeeds
        report.warn(f"roc_auc skipped: {one_line(exc)}")
        return None


def regression_metrics(y_true: Any, y_pred: Any, suffix: str = "") -> Dict[str, float]:
    return {
        f"rmse{suffix}": math.sqrt(mean_squared_error(y_true, y_pred)),
        f"mae{suffix}": mean_absolute_error(y_true, y_pred),
        f"r2{suffix}": r2_score(y_true, y_pred),
    }


def cross_validation(pipeline: Any, X: Any, y: Any, cfg: Config, report: Report) -> Dict[str, float]:
    if cfg.cv_folds < 2:
        report.warn(f"cvFolds is {cfg.cv_folds}; cross-validation skipped")
        return {}
    if cfg.is_classification:
        counts = pd.Series(y).value_counts()
        if counts.min() >= cfg.cv_folds:
            splitter: Any = StratifiedKFold(n_splits=cfg.cv_folds, shuffle=True, random_state=cfg.seed)
        else:
            report.warn(f"Some class has fewer than {cfg.cv_folds} rows; cross-validation uses unstratified KFold")
            splitter = KFold(n_splits=cfg.cv_folds, shuffle=True, random_state=cfg.seed)
        scoring: Any = make_scorer(f1_score, average="weighted", zero_division=0)
        name, sign = "cv_f1", 1.0
    else:
        splitter = KFold(n_splits=cfg.cv_folds, shuffle=True, random_state=cfg.seed)
        scoring, name, sign = "neg_root_mean_squared_error", "cv_rmse", -1.0
    try:
        scores = sign * cross_val_score(clone(pipeline), X, y, cv=splitter, scoring=scoring, error_score="raise")
    except Exception as exc:  # CV is a bonus; the run still succeeds
        report.warn(f"Cross-validation failed and was skipped: {type(exc).__name__}: {one_line(exc)}")
        return {}
    return {f"{name}_mean": float(np.mean(scores)), f"{name}_std": float(np.std(scores))}


def finite_metrics(metrics: Dict[str, Any], report: Report) -> Dict[str, float]:
    kept = {}
    for name, value in metrics.items():
        value = float(value)
        if math.isfinite(value):
            kept[name] = value
        else:
            report.warn(f"Metric '{name}' is not finite ({value}) and was left out")
    return kept


# ---------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------


def run_experiment(report: Report) -> Dict[str, Any]:
    cfg = load_config(config_path(), report)
    log(f"{cfg.experiment_name or 'experiment'}: {cfg.model_type} ({cfg.task_type}) on {cfg.data_file}")
    model = make_model(cfg)

    table = read_table(cfg.data_file, report)
    target = find_target(table.frame, cfg.target_column)
    features, y, dropped_target = split_target(table.frame, target, cfg, report)
    plan = plan_columns(features, report)
    X = plan.frame()
    dropped_missing = 0
    if cfg.missing_values == "drop":
        X, y, dropped_missing = drop_incomplete_rows(X, y, report)
    if len(X) < MIN_ROWS:
        raise ExperimentError(f"Only {len(X)} usable row(s) remain; at least {MIN_ROWS} are needed")
    if cfg.is_classification and len(np.unique(y)) < 2:
        raise ExperimentError("Only one class remains after dropping rows; classification needs at least 2")

    if cfg.target_transform == "log":
        if y.min() <= -1:
            raise ExperimentError(f"targetTransform 'log' needs every target value > -1 (minimum is {y.min()})")
        y_model = np.log1p(y)
    else:
        y_model = y

    X_train, X_test, y_train, y_test = split_rows(X, y_model, cfg, report)
    log(f"{len(X)} rows ({len(X_train)} train / {len(X_test)} test), {len(plan.inputs)} model inputs; fitting")
    pipeline = build_pipeline(plan, model, cfg)
    fit_pipeline(pipeline, X_train, y_train, cfg)

    if cfg.is_classification:
        metrics = classification_metrics(pipeline, X_test, y_test, report)
    else:
        predicted = pipeline.predict(X_test)
        metrics = regression_metrics(y_test, predicted)
        if cfg.target_transform == "log":
            with np.errstate(over="ignore"):
                metrics.update(regression_metrics(np.expm1(y_test), np.expm1(predicted), "_original"))
    log("cross-validating")
    metrics.update(cross_validation(pipeline, X, y_model, cfg, report))

    details = {
        "rows": len(table.frame),
        "rowsUsed": len(X),
        "droppedTargetRows": dropped_target,
        "droppedMissingRows": dropped_missing,
        "trainRows": len(X_train),
        "testRows": len(X_test),
        "delimiter": table.delimiter,
        "encoding": table.encoding,
        "columns": {
            "numeric": plan.numeric,
            "categorical": plan.categorical,
            "datetime": plan.datetime,
            "dropped": plan.dropped,
        },
    }
    return {"metrics": finite_metrics(metrics, report), "details": details}


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def python_warnings(caught: List[Any]) -> List[str]:
    seen: List[str] = []
    for item in caught:
        text = f"{item.category.__name__}: {one_line(item.message)}"
        if text not in seen:
            seen.append(text)
    if len(seen) > MAX_PYTHON_WARNINGS:
        extra = len(seen) - MAX_PYTHON_WARNINGS
        seen = seen[:MAX_PYTHON_WARNINGS] + [f"... and {extra} more"]
    return seen


def provenance(seed: int) -> Dict[str, Any]:
    def version(module: str) -> Optional[str]:
        return getattr(sys.modules.get(module), "__version__", None)

    return {
        "python": platform.python_version(),
        "sklearn": version("sklearn"),
        "numpy": version("numpy"),
        "pandas": version("pandas"),
        "seed": seed,
    }


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalars and arrays
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def execute(report: Report) -> Dict[str, Any]:
    """Run the experiment, turning every outcome into the result document."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if _IMPORT_ERROR is not None:
                raise _IMPORT_ERROR
            outcome: Dict[str, Any] = {"success": True, **run_experiment(report)}
        except ExperimentError as exc:
            outcome = {"success": False, "error": str(exc)}
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            outcome = {"success": False, "error": f"{type(exc).__name__}: {one_line(exc)}"}
    document: Dict[str, Any] = {"success": outcome["success"]}
    if outcome["success"]:
        document["metrics"] = outcome["metrics"]
    else:
        document["error"] = outcome["error"]
    document["warnings"] = report.warnings + python_warnings(caught)
    document["provenance"] = provenance(report.seed)
    if outcome["success"]:
        document["details"] = outcome["details"]
    return document


def serialize(document: Dict[str, Any], report: Report) -> str:
    try:
        return json.dumps(to_jsonable(document), allow_nan=False)
    except (TypeError, ValueError) as exc:
        fallback = {
            "success": False,
            "error": f"Could not serialize the result: {exc}",
            "warnings": [],
            "provenance": provenance(report.seed),
        }
        return json.dumps(to_jsonable(fallback), allow_nan=False)


def write_result_file(text: str) -> None:
    path = os.environ.get("EXPERIMENT_RESULT_PATH")
    if not path:
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except Exception as exc:  # best effort; stdout still carries the result
        log(f"could not write EXPERIMENT_RESULT_PATH {path}: {exc}")


def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except Exception:
        pass


@contextlib.contextmanager
def stdout_to_stderr():
    """Send stdout (Python and C level) to stderr; yield the real stdout stream."""
    real_stdout = sys.stdout
    real_stdout.flush()
    saved_fd = None
    try:
        saved_fd = os.dup(1)
        os.dup2(2, 1)
    except (OSError, AttributeError, ValueError):
        saved_fd = None
    sys.stdout = sys.stderr
    try:
        yield real_stdout
    finally:
        _flush_c_stdio()
        sys.stderr.flush()
        sys.stdout = real_stdout
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def main() -> int:
    report = Report()
    with stdout_to_stderr() as real_stdout:
        document = execute(report)
        text = serialize(document, report)
        write_result_file(text)
    real_stdout.write(text + "\n")
    real_stdout.flush()
    return 0 if document["success"] else 1


if __name__ == "__main__":
    sys.exit(main())

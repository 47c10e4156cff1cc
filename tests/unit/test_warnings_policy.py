"""The warnings policy (pyproject filterwarnings): a deprecation our code triggers fails
the test; one raised elsewhere is shown, not hidden."""

from __future__ import annotations

import warnings

import pytest

OURS = ["ducha.intake.quality", "ducha_sample.generator", "tests.dags.test_dag_integrity"]
THEIRS = ["great_expectations.core", "airflow.providers.standard.sensors.python", "duchamp"]


def _call_deprecated_pandas_from(module: str) -> None:
    # Code running as ``module`` fills a float column with a bool (deprecated in pandas):
    # pandas attributes the warning to its caller, the module the filter names.
    code = "import pandas as pd\npd.Series([float('nan')]).fillna(True)\n"
    exec(compile(code, f"{module.replace('.', '/')}.py", "exec"), {"__name__": module})


def _warn_as(module: str, category: type[Warning]) -> None:
    warnings.warn_explicit("old call", category, f"{module.replace('.', '/')}.py", 1, module=module)


@pytest.mark.parametrize("module", OURS)
def test_a_deprecation_our_code_triggers_is_an_error(module: str) -> None:
    with pytest.raises(DeprecationWarning):
        _call_deprecated_pandas_from(module)
    with pytest.raises(FutureWarning):  # how Airflow 3 deprecates an import
        _warn_as(module, FutureWarning)


@pytest.mark.parametrize("module", THEIRS)
@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning])
def test_a_deprecation_raised_elsewhere_is_shown(module: str, category: type[Warning]) -> None:
    with pytest.warns(category):
        _warn_as(module, category)

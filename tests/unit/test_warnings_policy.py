"""The warnings policy (pyproject filterwarnings): a deprecation our code triggers fails
the test; one raised elsewhere is shown, not hidden."""

from __future__ import annotations

import warnings

import pytest


def _call_deprecated_pandas_from(module: str) -> None:
    # Code running as ``module`` fills a float column with a bool (deprecated in pandas):
    # pandas attributes the warning to its caller, the module the filter names.
    code = "import pandas as pd\npd.Series([float('nan')]).fillna(True)\n"
    exec(compile(code, f"{module.replace('.', '/')}.py", "exec"), {"__name__": module})


@pytest.mark.parametrize("module", ["ducha.intake.quality", "ducha_sample.generator"])
def test_a_deprecation_our_code_triggers_is_an_error(module: str) -> None:
    with pytest.raises(DeprecationWarning):
        _call_deprecated_pandas_from(module)


@pytest.mark.parametrize("module", ["great_expectations.core", "airflow.sdk"])
def test_a_deprecation_raised_elsewhere_is_shown(module: str) -> None:
    with pytest.warns(DeprecationWarning):
        warnings.warn_explicit("old call", DeprecationWarning, f"{module}.py", 1, module=module)

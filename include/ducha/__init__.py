"""Ducha: the environmental-inspection complaint disclosure pipeline's domain package.

Importable without Airflow: DAG files only wire these functions together.
"""

__version__ = "0.1.0"

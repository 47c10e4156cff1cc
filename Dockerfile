# The production image: the official Airflow image plus Ducha and its pinned dependencies.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt constraints.txt /opt/ducha/
RUN pip install --no-cache-dir -r /opt/ducha/requirements.txt -c /opt/ducha/constraints.txt \
    "apache-airflow-providers-fab==3.10.2"
COPY --chown=airflow:root pyproject.toml /opt/ducha/
COPY --chown=airflow:root include /opt/ducha/include
COPY --chown=airflow:root scripts/vendor_assets.py /opt/ducha/scripts/vendor_assets.py
# The pages' ECharts and maps (pinned, hash-checked) go into the package before it is built,
# so the installed package carries them with its configuration (ducha/conf/) and templates.
# Ducha is installed as a wheel, not editable: the sources are removed, nothing reads them.
RUN python /opt/ducha/scripts/vendor_assets.py \
 && pip install --no-cache-dir --no-deps /opt/ducha \
 && rm -rf /opt/ducha/include /opt/ducha/build
# The DAGs and the pages' plugin, where Airflow reads them by default.
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
# A deployment's own configuration (its inspections, access.yaml): mount a folder and set
# DUCHA_CONFIG_DIR to it (README, "Configuring an inspection").

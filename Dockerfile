# The production image: the official Airflow image plus Ducha and its pinned dependencies.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml /opt/ducha/
COPY --chown=airflow:root include /opt/ducha/include
COPY --chown=airflow:root scripts/vendor_assets.py /opt/ducha/scripts/vendor_assets.py
RUN pip install --no-cache-dir -r /opt/ducha/requirements.txt -c /opt/ducha/constraints.txt \
    "apache-airflow-providers-fab==3.10.2" \
 && pip install --no-cache-dir --no-deps -e /opt/ducha \
 && python /opt/ducha/scripts/vendor_assets.py  # the pages' ECharts and maps, pinned and hash-checked

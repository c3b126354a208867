# The production image: the official Airflow 3.3.2 image plus the project's exact pins and code.
FROM apache/airflow:3.3.2-python3.11

# The official image installs packages as the airflow user (pip refuses to run as root there).
USER airflow

# requirements.txt pins every package exactly, apache-airflow==3.3.2 included, so pip keeps the
# image's Airflow and only adds or re-pins what the project needs. `pip check` fails the build
# if our pins break a provider the base image ships (celery, postgres, redis...).
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt \
 && pip check

# The project is installed editable, without dependencies (all pinned above): its metadata
# registers the `opsgenie_sync` connection type with Airflow (UI form and Test button), while
# imports resolve to /opt/airflow/include, which docker-compose mounts from the working copy.
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 include/ /opt/airflow/include/
RUN pip install --no-cache-dir --no-deps -e /opt/airflow

COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
ENV PYTHONPATH=/opt/airflow/include \
    GX_ANALYTICS_ENABLED=false

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

# The code is baked in, so the image runs without mounts; docker-compose mounts the working copy
# over these folders. The package is found through PYTHONPATH (no pip install of the project),
# so the mounted include/ is always the code that runs.
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
ENV PYTHONPATH=/opt/airflow/include \
    GX_ANALYTICS_ENABLED=false

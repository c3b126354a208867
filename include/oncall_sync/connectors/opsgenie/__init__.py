"""The OpsGenie connector: client, Airflow hook, extract and mapping to the canonical model."""

"""The Sync reports pages: what analysts read in the Airflow UI, from the reports in staging.

reader (report.json -> digest and items), catalog (runs under a staging root, filters, pages),
charts (inline SVG), app (the FastAPI app the plugin in plugins/ mounts).
"""

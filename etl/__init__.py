"""The ETL from the operational database into the DuckDB warehouse (`python -m etl run | rebuild`)."""

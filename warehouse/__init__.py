"""The analytical warehouse: a DuckDB file the ETL builds and publishes whole, and the dashboards read."""

"""The HTTP interface: Airflow 1.10's experimental REST API over the actions (see API.md)."""

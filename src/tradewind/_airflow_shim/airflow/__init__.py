"""Tradewind's stand-in for ``airflow``: only ``from airflow import DAG`` lives here."""

from tradewind.dag import DAG

__all__ = ["DAG"]

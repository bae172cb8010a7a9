"""Mentions the word DAG but defines none: loads with no DAGs and no error."""

DAG_COLOURS = ["red", "green"]

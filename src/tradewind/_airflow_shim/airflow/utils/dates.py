"""``days_ago``: the start date of most Airflow 1.10 examples."""

import datetime as dt


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0) -> dt.datetime:
    """Midnight UTC (or the given time of day) ``n`` days ago, like Airflow's."""
    today = dt.datetime.now(dt.UTC).replace(hour=hour, minute=minute, second=second, microsecond=microsecond)
    return today - dt.timedelta(days=n)


__all__ = ["days_ago"]

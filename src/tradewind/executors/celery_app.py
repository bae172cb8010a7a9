"""The target of ``celery -A tradewind.executors.celery_app worker -P threads``.

The only module that builds a Celery app at import (from ``load_config()``);
``tradewind celery worker`` builds its own and does not import this.
"""

from tradewind.celery_worker.app import make_celery_app
from tradewind.celery_worker.service import install_worker_hooks
from tradewind.config import load_config

app = install_worker_hooks(make_celery_app(load_config()))

"""gunicorn settings read from the working directory (`gunicorn wsgi:app` picks this file up).

Metrics: with PROMETHEUS_MULTIPROC_DIR set (an existing directory, emptied before the service
starts), every worker writes its counters there and GET /metrics adds them up. A worker that
exits is marked dead so that its live gauges disappear (its counters stay counted).
Logs: with LOG_FORMAT=json gunicorn's own lines are JSON objects too, in the app's format.
"""

import os

if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            # No level here: --log-level still applies to gunicorn's own logger.
            "gunicorn.error": {"handlers": ["stderr"], "propagate": False},
            # Off: its lines carry query strings, where tokens travel; the app logs each
            # request itself, without the query string.
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

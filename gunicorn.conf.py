"""gunicorn settings read from the working directory (`gunicorn wsgi:app` picks this file up).

Metrics: with PROMETHEUS_MULTIPROC_DIR set (an existing directory, emptied before the service
starts), every worker writes its counters there and GET /metrics adds them up. A worker that
exits is marked dead so that its live gauges disappear (its counters stay counted).
Logs: with LOG_FORMAT=json gunicorn's own lines are JSON objects too, in the app's format.
Memory: the workers' threads share at most two glibc malloc arenas (see limit_malloc_arenas).
"""

import ctypes
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def limit_malloc_arenas(count: int = 2) -> bool:
    """Let the threads of this master's workers share `count` malloc arenas; True if done.

    glibc gives threads arenas of their own, up to eight per CPU, and keeps what was freed in
    each: a worker's outbox lanes and gthread threads grew it by about 9 MB (108 -> 99 MB
    after the benchmark's mail scenarios, throughput unchanged). Set here, in the master, it
    holds in every worker forked from it. An operator's MALLOC_ARENA_MAX wins; a C library
    without mallopt (not glibc) is left as it is.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(M_ARENA_MAX, count) == 1


limit_malloc_arenas()

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

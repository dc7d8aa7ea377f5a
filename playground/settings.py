"""Settings, all from the environment.

Nothing set: one laptop — SQLite in ./var, the in-memory channel layer, loops
run in-process. Classroom: DATABASE_URL (PostgreSQL) + REDIS_URL (Celery broker
and the channel layer), SECRET_KEY, PLAYGROUND_PUBLIC_HOSTS.
"""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url


def _duration(name: str, default: str) -> float:
    """Seconds from an environment variable: a number of seconds, or with a unit — "90m", "2h", "30d"."""
    text = os.environ.get(name, default).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    scale = units.get(text[-1:], 1) if text else 1
    number = text[:-1] if text[-1:] in units else text
    try:
        return float(number) * scale
    except ValueError:
        raise ValueError(f'{name}={text!r}: give seconds, or a number with s, m, h or d ("2h", "30d")') from None


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PLAYGROUND_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-set-SECRET_KEY-in-a-classroom")
DEBUG = os.environ.get("DEBUG", "") == "1"
ALLOWED_HOSTS = ["*"]  # the API is reached by IP, by localhost and by public names alike

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "clusters",
    "lessons",
    "classroom",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The database unreachable: a 503 page (or JSON) instead of a 500 (the API answers its own 503 Status).
    "playground.outage.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Classroom mode keeps its PostgreSQL connections open for a minute (checked before reuse): the pages'
# WebSockets do their database work in a thread pool, and a connection per call cost more than the
# call (bench/classroom_grid.py). Embedded mode (SQLite) opens them per request as before.
_CLASSROOM = bool(os.environ.get("REDIS_URL", ""))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'playground.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60" if _CLASSROOM else "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Requests and the embedded control loop run in several threads (one connection each). Write
    # transactions take the lock when they begin (IMMEDIATE), so a second writer waits for it
    # instead of failing with "database is locked" when it upgrades a read; WAL lets reads go on.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A database that does not answer fails a connection attempt in seconds (a 503, playground/outage.py)
    # instead of holding the request, and the worker thread, until the operating system gives up.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT", "3")))
# `serve` takes its PostgreSQL connections from a pool of at most DB_POOL_SIZE (0: a connection per
# thread, kept DB_CONN_MAX_AGE seconds); one that waits DB_POOL_TIMEOUT seconds for one is answered 503.
# clusters/config.py pool_database_connections says why.
DB_POOL = {"max_size": int(os.environ.get("DB_POOL_SIZE", "12")),
           "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "3"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # The PubSub layer, not RedisChannelLayer: the latter silently drops messages
    # once a process inbox holds 100 (shared/docs/performance-notes.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1   # a long reconcile must not hold back other clusters' tasks
CELERY_TASK_ACKS_LATE = True            # a killed worker's task is redelivered
# Celery closes a task's database connection after every task unless told otherwise: a new PostgreSQL
# connection for each reconcile, and for each sweep twice a second. playground/celery.py lets Django's own
# rule (DB_CONN_MAX_AGE, closed when broken) decide instead; this only keeps Celery's hands off.
CELERY_DB_REUSE_MAX = 1_000_000_000
CELERY_BEAT_SCHEDULE = {
    # Hands out clusters whose simulated timers are due; run beat with --max-interval 1.
    "sweep": {"task": "clusters.sweep", "schedule": float(os.environ.get("PLAYGROUND_SWEEP_SECONDS", "0.5"))},
    # Stops idle clusters and deletes long-idle ones (PLAYGROUND_STOP_IDLE_AFTER, PLAYGROUND_DELETE_IDLE_AFTER).
    "retention": {"task": "clusters.retention", "schedule": _duration("PLAYGROUND_RETENTION_SECONDS", "60")},
}
# kube-apiserver's --etcd-compaction-interval: history older than one to two of these is compacted (0: never).
_compaction_seconds = _duration("PLAYGROUND_COMPACTION_INTERVAL", "5m")
if _compaction_seconds > 0:
    # etcd compaction of the clusters' change logs (clusters/store/compaction.py).
    CELERY_BEAT_SCHEDULE["compaction"] = {"task": "clusters.compaction", "schedule": _compaction_seconds}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Whitenoise serves static/ as it is: `make run` and `serve` need no collectstatic step.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = LOGOUT_REDIRECT_URL = "/"

# The Kubernetes API: ports, certificate names, limits.
PLAYGROUND = {
    "HTTP_PORT": int(os.environ.get("PLAYGROUND_HTTP_PORT", "8000")),
    "API_PORT": int(os.environ.get("PLAYGROUND_API_PORT", "6443")),
    # Host names (and IPs) the API's serving certificate names besides localhost.
    "PUBLIC_HOSTS": [h for h in os.environ.get("PLAYGROUND_PUBLIC_HOSTS", "").split(",") if h],
    # Where the kubeconfig points by default.
    "API_SERVER_URL": os.environ.get("PLAYGROUND_API_SERVER_URL", ""),
    "CA_DIR": Path(os.environ.get("PLAYGROUND_CA_DIR", VAR_DIR / "ca")),
    # Per-cluster quotas: what one learner's cluster may hold.
    "MAX_OBJECTS": int(os.environ.get("PLAYGROUND_MAX_OBJECTS", "2000")),
    "MAX_PODS": int(os.environ.get("PLAYGROUND_MAX_PODS", "200")),
    "MAX_REPLICAS": int(os.environ.get("PLAYGROUND_MAX_REPLICAS", "50")),
    "MAX_REQUEST_BYTES": int(os.environ.get("PLAYGROUND_MAX_REQUEST_BYTES", str(3 * 1024 * 1024))),
    "MAX_OBJECT_BYTES": int(os.environ.get("PLAYGROUND_MAX_OBJECT_BYTES", str(1536 * 1024))),
    "CHANGE_LOG_SIZE": int(os.environ.get("PLAYGROUND_CHANGE_LOG_SIZE", "1000")),
    "COMPACTION_SECONDS": _compaction_seconds,
    # Simulated image pulls and container starts take realistic time; 0 makes them instant
    # (benchmarks, impatient demos).
    "START_DELAYS": os.environ.get("PLAYGROUND_START_DELAYS", "1") != "0",
    # A cluster handed out by the sweeper is handed out again after this many seconds if its worker
    # vanished (clusters/sim/reconcile.py); tests lower it to see a killed worker's cluster recover fast.
    "LEASE_SECONDS": float(os.environ.get("PLAYGROUND_LEASE_SECONDS", "30")),
    # Run the control loops inside the server process (the default without REDIS_URL).
    "EMBEDDED_LOOP": os.environ.get("PLAYGROUND_EMBEDDED_LOOP", "" if REDIS_URL else "1") == "1",
    # The browser terminal (clusters/terminal/sandbox.py): the real kubectl it runs (default: the one beside this
    # Python), the API URL that kubectl uses (default: https://127.0.0.1:<the port `serve` listens on>),
    # and its limits per command and per user.
    "KUBECTL": os.environ.get("PLAYGROUND_KUBECTL", ""),
    "TERMINAL_API_URL": os.environ.get("PLAYGROUND_TERMINAL_API_URL", ""),
    "TERMINAL_COMMAND_SECONDS": float(os.environ.get("PLAYGROUND_TERMINAL_COMMAND_SECONDS", "30")),
    "TERMINAL_STREAM_SECONDS": float(os.environ.get("PLAYGROUND_TERMINAL_STREAM_SECONDS", "600")),
    "TERMINAL_OUTPUT_BYTES": int(os.environ.get("PLAYGROUND_TERMINAL_OUTPUT_BYTES", str(1024 * 1024))),
    "TERMINAL_PROCESSES_PER_USER": int(os.environ.get("PLAYGROUND_TERMINAL_PROCESSES_PER_USER", "4")),
    # `serve` processes sharing the ports (`serve --processes`, classroom mode only).
    "SERVE_PROCESSES": int(os.environ.get("PLAYGROUND_SERVE_PROCESSES", "1")),
    # kubectl processes one `serve` runs at once for all its terminals; more wait for a turn.
    "TERMINAL_PROCESSES": int(os.environ.get("PLAYGROUND_TERMINAL_PROCESSES", "32")),
    # Retention (clusters/config.py): a cluster nobody used for this long is stopped (no reconcile; its clock
    # frozen; the next use starts it), and deleted after the longer time. 0 = never. Checked every
    # RETENTION_SECONDS by beat's "retention" task or the embedded loop.
    "STOP_IDLE_AFTER": _duration("PLAYGROUND_STOP_IDLE_AFTER", "2h"),
    "DELETE_IDLE_AFTER": _duration("PLAYGROUND_DELETE_IDLE_AFTER", "30d"),
    "RETENTION_SECONDS": _duration("PLAYGROUND_RETENTION_SECONDS", "60"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # 4xx answers are Kubernetes Status objects a learner caused, not server problems.
    "loggers": {"django.request": {"level": "ERROR"}},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = PLAYGROUND["MAX_REQUEST_BYTES"] + 1

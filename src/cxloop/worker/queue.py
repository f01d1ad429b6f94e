"""The Huey instance: SQLite storage by default, Redis when CXLOOP_QUEUE_URL says so."""

from __future__ import annotations

from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

from cxloop.config import Settings, get_settings


def build_huey(settings: Settings) -> Huey:
    """A Huey instance for ``settings.queue_url`` (SQLite file under CXLOOP_HOME if unset)."""
    url = settings.queue_url
    if url and url.startswith(("redis://", "rediss://")):
        return RedisHuey("cxloop", url=url, utc=True)
    if url and url.startswith("memory://"):
        return MemoryHuey("cxloop", utc=True)
    if url and url.startswith("sqlite://"):
        filename = url.split("///", 1)[-1]
    else:
        settings.home.mkdir(parents=True, exist_ok=True)
        filename = str((settings.home / "queue.db").resolve())
    return SqliteHuey("cxloop", filename=filename, utc=True, timeout=30)


huey = build_huey(get_settings())
# How long an idle consumer waits, at most, before it looks at the queue again (Huey's default
# is 10 s): a journey's trigger should reach its first step within a second or two. Redis pops
# block instead, and answer at once.
MAX_DELAY = 0.5


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer that runs beside the web server: the server owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        return None


def start_embedded(threads: int) -> EmbeddedConsumer:
    """Start consumer threads (workers, scheduler, periodic tasks) in this process."""
    consumer = EmbeddedConsumer(
        huey,
        workers=threads,
        worker_type="thread",
        periodic=True,
        check_worker_health=False,
        max_delay=MAX_DELAY,
    )
    consumer.start()
    return consumer


def stop_embedded(consumer: EmbeddedConsumer) -> None:
    """Stop the embedded consumer, letting running tasks finish."""
    consumer.stop(graceful=True)


def run_consumer(threads: int) -> None:
    """Run a standalone consumer in the foreground until SIGINT/SIGTERM (``cxloop worker``)."""
    consumer = Consumer(
        huey, workers=threads, worker_type="thread", periodic=True, max_delay=MAX_DELAY
    )
    consumer.run()

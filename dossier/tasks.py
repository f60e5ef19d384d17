"""Workers' side of the dossier: generate system documents, sweep, purge past retention."""

from celery import shared_task

RETRY_DELAYS = (5, 30, 120, 600)


@shared_task(name="dossier.generate", bind=True, ignore_result=True, max_retries=len(RETRY_DELAYS))
def generate(self, generation_id: int) -> None:  # type: ignore[no-untyped-def]
    """Generate one system document (dossier.generation.generation_run): once, whatever the
    number of deliveries of this task; a failure is retried with back-off and jitter."""
    import random

    from dossier.generation import generation_failed, generation_run

    try:
        generation_run(generation_id=int(generation_id))
    except Exception as exc:
        generation_failed(generation_id=int(generation_id), error=repr(exc))
        delay = RETRY_DELAYS[min(self.request.retries, len(RETRY_DELAYS) - 1)]
        raise self.retry(exc=exc, countdown=delay * (1 + random.random() / 2)) from exc  # noqa: S311


@shared_task(name="dossier.generation_sweep", ignore_result=True)
def generation_sweep() -> int:
    """Hand again to the workers the system documents still pending (a worker died)."""
    from dossier.generation import generations_sweep

    return len(generations_sweep())


@shared_task(name="dossier.retention_purge", ignore_result=True)
def retention_purge() -> int:
    """Delete the bytes of documents past retention (not on legal hold); keep their rows."""
    from dossier.services import retention_purge as purge

    return purge()

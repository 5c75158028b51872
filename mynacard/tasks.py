from celery import shared_task

from madoguchi.tasks import TenantTask
from mynacard.services import card_reads_purge


@shared_task(base=TenantTask, name="mynacard.purge_card_reads")
def purge_card_reads() -> int:
    """Delete this municipality's card data past its retention (screens already hide it)."""
    return card_reads_purge()

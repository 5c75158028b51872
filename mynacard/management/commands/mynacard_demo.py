"""Set up the card demo of `make run` in one municipality (idempotent): a desk at the first counter with
staff1 seated, one reader station registered to it (its credential written to a file for the station
process), and the demo persona's resident in the mirror so the card matches someone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.models import Municipality

DEMO_DESK = "1番席"
DEMO_STATION = "デモ端末（ソフトウェアカード）"


class Command(BaseCommand):
    help = "make run のカードのデモ（席・端末・資格情報・デモ住民）を用意する（何度実行しても同じ結果）"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--tenant", default="minami")
        parser.add_argument("--server", required=True, help="http://minami.localhost:8000")
        parser.add_argument("--credential", required=True, help="file the station credential is written to")

    def handle(self, *args: object, **options: object) -> None:
        municipality = Municipality.objects.filter(slug=options["tenant"]).first()
        if municipality is None:
            raise CommandError(f"municipality {options['tenant']} not found")
        with schema_context(municipality.schema_name), transaction.atomic():
            from integration.checkdigits import with_check_digit
            from integration.models import Resident
            from integration.normalize import normalize_address, normalize_kana, normalize_name
            from mynacard.models import ReaderStation
            from mynacard.services import station_register
            from tenants.accounts.models import Counter, Desk, User
            from tenants.accounts.services import desk_sit

            counter = Counter.objects.filter(is_active=True).order_by("sort_order", "name").first()
            if counter is None:
                raise CommandError("no counter")
            desk, _ = Desk.objects.get_or_create(counter=counter, name=DEMO_DESK)
            staff = User.objects.get(username="staff1")
            admin = User.objects.get(username="admin")
            desk_sit(actor=staff, desk_id=desk.pk)
            ReaderStation.objects.filter(name=DEMO_STATION).update(is_active=False)
            issued = station_register(actor=admin, desk_id=desk.pk, name=DEMO_STATION, server=options["server"])
            name, kana, address = "山田　太郎", "ヤマダ タロウ", "東京都千代田区霞が関１丁目２番３号"
            atena_no = with_check_digit("99000001")
            if not Resident.objects.filter(atena_no=atena_no).exists():
                Resident.objects.create(
                    atena_no=atena_no, household_no=with_check_digit("99100001"), name=name, name_kana=kana,
                    birth_date=date(1980, 1, 1), sex="1", relationship="世帯主", address="みなみデモ市中央一丁目１番",
                    search_name=normalize_name(name), search_kana=normalize_kana(kana),
                    search_address=normalize_address("みなみデモ市中央一丁目１番"))
        path = Path(options["credential"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(issued.credential, encoding="utf-8")
        path.chmod(0o600)
        self.stdout.write(f"{counter.name} {DEMO_DESK}: staff1 が着席、端末「{DEMO_STATION}」の資格情報 → {path}")
        self.stdout.write(f"（デモ住民 {name} の住所はカードと違う: {address} → 住民記録では転居済み）")

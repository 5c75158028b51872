"""Catalogue per municipality: default install/upgrade, versions, publishing, import/export, audit, isolation."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.models import AuditEvent
from navigation import selectors, services
from navigation.determination import CatalogueInvalid, determine
from navigation.facts import household_facts, person_facts_new
from navigation.models import CatalogueVersion, LifeEvent, Origin, Procedure, Question, Rule
from tenants.accounts.models import User
from tests.conftest import in_tenant


@pytest.fixture
def admin_user(in_a):  # noqa: ANN001
    return User.objects.get(username="admin")


def test_install_default_creates_draft_and_first_version(in_a, admin_user):  # noqa: ANN001
    report = services.catalogue_install_default(actor=admin_user)
    data = services.default_catalogue()
    assert len(report.added) == sum(len(data[s]) for s in selectors.SECTIONS)
    assert LifeEvent.objects.count() == 8 and Procedure.objects.count() == len(data["procedures"])
    assert report.published is not None and report.published.number == 1
    assert selectors.catalogue_version_current(on=date.today()) == report.published
    # idempotent: nothing changes, nothing is published again
    again = services.catalogue_install_default(actor=admin_user)
    assert again.added == [] and again.updated == [] and again.published is None
    assert again.unchanged == len(report.added)


def test_system_install_without_actor_and_staff_may_not(in_a):  # noqa: ANN001
    services.catalogue_install_default()
    assert CatalogueVersion.objects.count() == 1
    with pytest.raises(PermissionDenied):
        services.catalogue_install_default(actor=User.objects.get(username="staff1"))


def test_upgrade_keeps_the_municipalitys_edits_and_reports_them(in_a, admin_user):  # noqa: ANN001
    services.catalogue_install_default(actor=admin_user)
    edited = Procedure.objects.get(code="kokuho_kanyu")
    services.catalogue_item_save(actor=admin_user, section="procedures", instance=edited,
                                 data={**selectors.procedure_dict(edited), "counter": "国保係 3番窓口"})
    services.catalogue_item_delete(actor=admin_user, section="procedures",
                                   instance=Procedure.objects.get(code="zei_souzokunin"))
    new_default = services.default_catalogue()
    new_default["release"] = "2027.04.1"
    for item in new_default["procedures"]:
        if item["code"] in ("kokuho_kanyu", "kokuho_soushitsu"):
            item["guidance"] = item["guidance"] + "（2027年改正）"
    new_default["procedures"].append({**copy.deepcopy(new_default["procedures"][0]), "code": "juki_new_item",
                                      "name": "新しい標準手続"})
    report = services.catalogue_install_default(actor=admin_user, data=new_default, effective_from=date(2027, 4, 1))
    assert "procedures:kokuho_kanyu" in report.kept_modified
    assert "procedures:kokuho_soushitsu" in report.updated
    assert "procedures:juki_new_item" in report.added
    assert "procedures:zei_souzokunin" in report.skipped_removed
    assert "rules:zei_souzokunin.adult" in report.skipped_removed
    kept = Procedure.objects.get(code="kokuho_kanyu")
    assert kept.counter == "国保係 3番窓口" and "2027年改正" not in kept.guidance
    assert "2027年改正" in Procedure.objects.get(code="kokuho_soushitsu").guidance
    assert not Procedure.objects.filter(code="zei_souzokunin").exists()
    assert report.published.number == 2 and report.published.effective_from == date(2027, 4, 1)
    status = selectors.catalogue_draft_status()
    assert ("procedures", "kokuho_kanyu", kept.name) in status.modified


def test_versions_are_immutable_and_chosen_by_effective_date(in_a, admin_user):  # noqa: ANN001
    services.catalogue_install_default(actor=admin_user, effective_from=date(2026, 1, 1))
    v1 = CatalogueVersion.objects.get(number=1)
    rule = Rule.objects.get(code="kaigo_shutoku.age65")
    services.catalogue_item_save(actor=admin_user, section="rules", instance=rule,
                                 data={**selectors.rule_dict(rule), "condition": {"and": [
                                     {"var": "person.subject"}, {">=": [{"var": "person.age"}, 60]}]}})
    v2 = services.catalogue_publish(actor=admin_user, effective_from=date(2026, 10, 1), note="試行")
    assert selectors.catalogue_version_current(on=date(2026, 9, 30)) == v1
    assert selectors.catalogue_version_current(on=date(2026, 10, 1)) == v2
    assert selectors.catalogue_version_current(on=date(2020, 1, 1)) == v1  # before the first: the first
    person = person_facts_new(key="x", birth_date=date(1964, 1, 1))
    answers = {"case": {"any_employee_insurance": True, "inkan_wish_any": False},
               "persons": {"x": {"employee_insurance": True}}}
    on = date(2026, 11, 1)
    old = determine(version=v1, events=["tennyu"], persons=[person], answers=answers, on=on, areas=in_a.areas)
    new = determine(version=v2, events=["tennyu"], persons=[person], answers=answers, on=on, areas=in_a.areas)
    assert "kaigo_shutoku" not in old.procedure_codes_by_person()["x"]
    assert "kaigo_shutoku" in new.procedure_codes_by_person()["x"]
    with pytest.raises(ValueError):
        v1.note = "変更"
        v1.save()
    with pytest.raises(ValueError):
        v1.delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE navigation_catalogueversion SET snapshot = '{}'::jsonb WHERE number = 1")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM navigation_catalogueversion WHERE number = 1")


def test_rule_validation_reports_unknown_variables_and_operators_with_a_path(in_a, admin_user):  # noqa: ANN001
    services.catalogue_install_default(actor=admin_user)
    rule = Rule.objects.get(code="kaigo_shutoku.age65")
    bad = {**selectors.rule_dict(rule), "condition": {"and": [{"var": "person.agee"}, {"between": [1, 2]}]},
           "reason": "{person.nam}さん"}
    with pytest.raises(ValidationError) as exc:
        services.catalogue_item_save(actor=admin_user, section="rules", instance=rule, data=bad)
    messages = exc.value.message_dict
    assert any("condition.and[0].var" in m and "person.agee" in m for m in messages["condition"])
    assert any("condition.and[1].between" in m for m in messages["condition"])
    assert any("person.nam" in m for m in messages["reason"])
    rule.refresh_from_db()
    assert rule.condition != bad["condition"]


def test_publish_refuses_an_invalid_draft_and_questions_in_use_cannot_be_deleted(in_a, admin_user):  # noqa: ANN001
    services.catalogue_install_default(actor=admin_user)
    with pytest.raises(ValidationError):
        services.catalogue_item_delete(actor=admin_user, section="questions",
                                       instance=Question.objects.get(code="funeral_held"))
    Rule.objects.filter(code="kaigo_shutoku.age65").update(condition={"foo": 1})  # bypassing the service
    with pytest.raises(CatalogueInvalid) as exc:
        services.catalogue_publish(actor=admin_user, effective_from=date.today())
    assert any("kaigo_shutoku.age65" in p and "foo" in p for p in exc.value.problems)
    assert CatalogueVersion.objects.count() == 1


def test_export_import_round_trip_keeps_default_origin(in_a, admin_user):  # noqa: ANN001
    services.catalogue_install_default(actor=admin_user)
    exported = services.catalogue_export(actor=admin_user)
    exported["procedures"] = [p for p in exported["procedures"] if p["code"] != "gak_tenshutsu"]
    exported["rules"] = [r for r in exported["rules"] if r["procedure"] != "gak_tenshutsu"]
    exported["events"][0]["name"] = "転入（国外からを含む）"
    result = services.catalogue_import(actor=admin_user, data=exported)
    assert "procedures:gak_tenshutsu" in result["deleted"]
    # an edited default item stays a default item, reported as changed (kept on upgrades)
    assert LifeEvent.objects.get(code="tennyu").origin == Origin.DEFAULT
    assert ("events", "tennyu", "転入（国外からを含む）") in selectors.catalogue_draft_status().modified
    assert Procedure.objects.get(code="juki_tennyu").origin == Origin.DEFAULT
    broken = {**exported, "rules": exported["rules"] + [{**exported["rules"][0], "code": "x.y", "procedure": "nope"}]}
    with pytest.raises(CatalogueInvalid) as exc:
        services.catalogue_import(actor=admin_user, data=broken)
    assert any("nope" in p for p in exc.value.problems)
    assert Rule.objects.filter(code="x.y").count() == 0


def test_catalogue_changes_are_audited_and_b_sees_none_of_a(tenant_a, tenant_b):  # noqa: ANN001
    with in_tenant(tenant_a):
        admin = User.objects.get(username="admin")
        start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        services.catalogue_install_default(actor=admin)
        event = LifeEvent.objects.get(code="tennyu")
        services.catalogue_item_save(actor=admin, section="events", instance=event,
                                     data={**selectors.event_dict(event), "name": "転入届"})
        services.catalogue_publish(actor=admin, effective_from=date.today())
        actions = list(AuditEvent.objects.filter(seq__gt=start).values_list("action", "target_type", "target_id"))
        assert ("import", "catalogue", services.default_catalogue()["release"]) in actions
        assert ("update", "catalogue_event", "tennyu") in actions
        assert ("publish", "catalogue_version", "2") in actions
        change = AuditEvent.objects.get(seq__gt=start, target_type="catalogue_event")
        assert change.details["changed"] == {"name": "転入届"} and change.details["before"] == {"name": "転入"}
    with in_tenant(tenant_b):
        assert not LifeEvent.objects.exists() and not CatalogueVersion.objects.exists()
        # B's only catalogue event is its own provisioning of the default counters, none of A's edits
        assert set(AuditEvent.objects.filter(target_type__startswith="catalogue")
                   .values_list("target_type", flat=True)) == {"catalogue_counters"}


def test_facts_from_the_mirror(in_a):  # noqa: ANN001
    from integration.models import Eligibility, Household, Resident, SupportMeasure

    Household.objects.create(household_no="H1", head_atena_no="A1")
    common = {"household_no": "H1", "sex": "1", "address": "テスト町1-1"}
    Resident.objects.create(atena_no="A1", name="山田 太郎", birth_date=date(1954, 2, 10), relationship="世帯主",
                            **common)
    Resident.objects.create(atena_no="A2", name="山田 花子", birth_date=date(1956, 1, 20), relationship="妻",
                            **common)
    Resident.objects.create(atena_no="A3", name="Lee Min", birth_date=date(2016, 4, 1), relationship="子",
                            kind="foreign", residence_status="家族滞在", **common)
    Eligibility.objects.create(atena_no="A1", area="kokuho", kind="一般")
    Eligibility.objects.create(atena_no="A1", area="inkan", kind="登録")
    Eligibility.objects.create(atena_no="A1", area="kaigo", kind="第1号")
    Eligibility.objects.create(atena_no="A2", area="kokuho", kind="一般", end_date=date(2026, 3, 31))
    SupportMeasure.objects.create(atena_no="A2", start_date=date(2025, 1, 1))
    persons = household_facts(household_no="H1", on=date(2026, 6, 1), subjects=["A1"])
    assert [p.key for p in persons] == ["A1", "A2", "A3"]
    head, spouse, child = persons
    assert head.subject and not spouse.subject and head.eligibilities == {"kokuho", "inkan", "kaigo"}
    assert spouse.eligibilities == frozenset() and spouse.support_measure and spouse.address_restricted
    assert child.foreign and child.residence_status == "家族滞在"
    result = determine(version=services.default_catalogue(), events=["shibou"], persons=persons,
                       answers={"case": {"funeral_held": True, "public_pension": False, "owned_real_estate": True,
                                         "dependent_of_deceased": False}}, on=date(2026, 6, 1),
                       areas=in_a.areas)
    by_person = result.procedure_codes_by_person()
    assert by_person["A1"] == {"koseki_shibou", "inkan_haishi", "zei_souzokunin", "kokuho_soushitsu",
                               "kokuho_sousaihi", "kaigo_soushitsu"}
    assert by_person["A2"] == {"juki_shien_sochi"} and "A3" not in by_person and None not in by_person
    assert result.complete


def test_publishing_refuses_an_unchanged_draft_and_an_earlier_effective_date(in_a, admin_user):  # noqa: ANN001
    services.catalogue_install_default(actor=admin_user, effective_from=date(2026, 4, 1))
    with pytest.raises(ValidationError) as exc:
        services.catalogue_publish(actor=admin_user, effective_from=date(2026, 10, 1))
    assert "第1版から変わっていません" in " ".join(exc.value.messages)
    event = LifeEvent.objects.get(code="tennyu")
    services.catalogue_item_save(actor=admin_user, section="events", instance=event,
                                 data={**selectors.event_dict(event), "name": "転入（国外から）"})
    with pytest.raises(ValidationError) as exc:
        services.catalogue_publish(actor=admin_user, effective_from=date(2026, 3, 31))
    message = "適用開始日は第1版の適用開始日（2026-04-01）以後にしてください。"
    assert exc.value.message_dict["effective_from"] == [message]
    assert CatalogueVersion.objects.count() == 1
    assert services.catalogue_publish(actor=admin_user, effective_from=date(2026, 4, 1)).number == 2  # same day: ok


def test_publish_diff_names_what_was_added_changed_and_removed(in_a, admin_user):  # noqa: ANN001
    services.catalogue_install_default(actor=admin_user, effective_from=date(2026, 4, 1))
    rule = Rule.objects.get(code="kaigo_shutoku.age65")
    services.catalogue_item_save(actor=admin_user, section="rules", instance=rule,
                                 data={**selectors.rule_dict(rule), "reason": "{person.name}さんは65歳以上です。"})
    services.catalogue_item_save(actor=admin_user, section="events", instance=None,
                                 data={"code": "kaisei", "name": "住所の表示変更", "description": "", "order": 99})
    removed = Question.objects.get(code="funeral_held")
    Rule.objects.filter(condition__icontains="funeral_held").delete()  # the question must be unused to go
    removed.delete()
    diff = selectors.catalogue_publish_diff(actor=admin_user)
    by = {section.section: section for section in diff.sections}
    assert diff.base.number == 1 and not diff.unchanged
    assert by["events"].added == [("kaisei", "住所の表示変更")]
    assert [(code, fields) for code, _name, fields in by["rules"].changed] == [("kaigo_shutoku.age65", ["理由の文"])]
    assert ("funeral_held", removed.text) in by["questions"].removed
    assert by["procedures"].empty
    from django.core.exceptions import PermissionDenied

    from tenants.accounts.models import User

    with pytest.raises(PermissionDenied):
        selectors.catalogue_publish_diff(actor=User.objects.get(username="staff1"))


def test_upgrade_from_the_previous_release_keeps_edits_and_adds_the_new_rules(in_a, admin_user):  # noqa: ANN001
    """2026.11.1 → the current default: the municipality's edits survive, the new duties arrive, a default
    procedure the new release dropped goes away unless the municipality changed it."""
    import json
    from pathlib import Path

    previous = json.loads((Path(__file__).parent / "data" / "navigation_catalogue_2026.11.1.json").read_text())
    services.catalogue_install_default(actor=admin_user, data=previous, effective_from=date(2026, 1, 1))
    rule = Rule.objects.get(code="zei_souzokunin.adult")  # the municipality narrows it to adults aged 20+
    services.catalogue_item_save(actor=admin_user, section="rules", instance=rule, data={
        **selectors.rule_dict(rule), "condition": {"and": [{"var": "person.subject"},
                                                           {">=": [{"var": "person.age"}, 20]}]}})
    card = Procedure.objects.get(code="juki_card_henkou")
    services.catalogue_item_save(actor=admin_user, section="procedures", instance=card,
                                 data={**selectors.procedure_dict(card), "counter": "マイナンバーカード窓口"})
    report = services.catalogue_install_default(actor=admin_user, effective_from=date(2026, 12, 1))
    # edits kept
    assert {"rules:zei_souzokunin.adult", "procedures:juki_card_henkou"} <= set(report.kept_modified)
    assert Rule.objects.get(code="zei_souzokunin.adult").condition["and"][1] == {">=": [{"var": "person.age"}, 20]}
    assert Procedure.objects.get(code="juki_card_henkou").counter == "マイナンバーカード窓口"
    # new duties added, untouched changed ones updated
    for label in ("procedures:kokuho_shussan_ikuji", "procedures:juki_shien_moushide", "procedures:kaigo_jukyu_shikaku",
                  "procedures:gak_shugaku_annai", "questions:new_head", "rules:juki_setainushi_henkou.new_head"):
        assert label in report.added, label
    assert "rules:gak_shugaku_yotei.next_april" in report.updated
    assert Question.objects.get(code="new_head").exclusive is True
    assert "配偶者からの暴力" in Procedure.objects.get(code="kokuho_kanyu").source
    # dropped by the new release and untouched: removed (its rule too); nothing reported obsolete
    assert {"procedures:jt_jukyusha_kakunin", "rules:jt_jukyusha_kakunin.children"} <= set(report.removed)
    assert {"rules:juki_setainushi_henkou.head_died", "rules:kokuho_setainushi_henkou.head_died"} <= set(report.removed)
    assert not Procedure.objects.filter(code="jt_jukyusha_kakunin").exists() and report.obsolete == []
    assert selectors.catalogue_draft_status().problems == []
    version = report.published
    assert version is not None and version.number == 2
    # the published version determines with the new rules and the municipality's narrower rule
    persons = [person_facts_new(key="x", birth_date=date(2007, 1, 1))]
    result = determine(version=version, events=["shibou"], persons=persons,
                       answers={"case": {"public_pension": False, "owned_real_estate": True}}, on=date(2026, 12, 6),
                       areas=in_a.areas)
    assert "zei_souzokunin" not in result.procedure_codes_by_person().get("x", set())


def test_upgrade_from_2026_12_1_keeps_edits_and_brings_the_review_fixes(in_a, admin_user):  # noqa: ANN001
    """2026.12.1 → 2026.12.2 (issue 16 review): the municipality's own edits of items the new release changes are
    kept; untouched items take the new rules (per-person 扶養 at death, newborn follows its parents, 転居 of the head,
    boundary days, split custody); new procedures and questions arrive."""
    import json
    from pathlib import Path

    from navigation.facts import person_facts_from_dict

    previous = json.loads((Path(__file__).parent / "data" / "navigation_catalogue_2026.12.1.json").read_text())
    services.catalogue_install_default(actor=admin_user, data=previous, effective_from=date(2026, 1, 1))
    # the municipality edits two items the new release also changes
    soushitsu = Procedure.objects.get(code="kokuho_soushitsu")
    services.catalogue_item_save(actor=admin_user, section="procedures", instance=soushitsu,
                                 data={**selectors.procedure_dict(soushitsu), "guidance": "市独自の案内文"})
    rule = Rule.objects.get(code="zei_nouzei_kanrinin.abroad")  # narrowed to 20+ by the municipality
    services.catalogue_item_save(actor=admin_user, section="rules", instance=rule, data={
        **selectors.rule_dict(rule), "condition": {"and": [{"var": "person.subject"},
                                                           {">=": [{"var": "person.age"}, 20]},
                                                           {"==": [{"var": "answer.moving_destination"}, "abroad"]}]}})
    report = services.catalogue_install_default(actor=admin_user, effective_from=date(2026, 12, 10))
    assert report.release == "2026.12.2"
    assert {"procedures:kokuho_soushitsu", "rules:zei_nouzei_kanrinin.abroad"} <= set(report.kept_modified)
    assert Procedure.objects.get(code="kokuho_soushitsu").guidance == "市独自の案内文"
    assert Rule.objects.get(code="zei_nouzei_kanrinin.abroad").condition["and"][1] == {
        ">=": [{"var": "person.age"}, 20]}
    for label in ("procedures:jt_gengaku", "questions:jt_child_keeper", "questions:residence_kokuho_excluded",
                  "questions:tax_liability_abroad", "questions:dv_separation_any", "questions:jt_custody_ends",
                  "rules:juki_setainushi_henkou.undecided", "rules:jt_nintei.split_custody_mother",
                  "rules:jt_gengaku.child_died", "rules:jt_shoumetsu.last_child_died"):
        assert label in report.added, label
    for label in ("questions:dependent_of_deceased", "questions:jt_new_recipient", "rules:kokuho_kanyu.newborn",
                  "rules:kokuho_kanyu.dependent", "rules:kouki_henkou.address", "procedures:juki_setainushi_henkou",
                  "procedures:juki_shien_shuuryou"):
        assert label in report.updated, label
    assert Question.objects.get(code="dependent_of_deceased").scope == "person"
    assert Question.objects.get(code="jt_new_recipient").exclusive is False
    assert "tenkyo" in set(Procedure.objects.get(code="juki_setainushi_henkou").events.values_list("code", flat=True))
    assert report.obsolete == [] and selectors.catalogue_draft_status().problems == []
    version = report.published
    assert version is not None and version.number == 2
    # the published version: a three-generation birth follows the parents (no 国保), the head moving within the
    # city leaves the 世帯主変更 to the remaining wife and son
    family = [person_facts_from_dict(p, index=i) for i, p in enumerate([
        {"key": "g", "birth_date": "1955-01-01", "relationship": "世帯主", "eligibilities": ["kokuho"],
         "subject": False, "in_mirror": True},
        {"key": "f", "birth_date": "1990-01-01", "relationship": "子", "subject": False, "in_mirror": True},
        {"key": "m", "birth_date": "1992-01-01", "relationship": "子の妻", "subject": False, "in_mirror": True},
        {"key": "baby", "birth_date": "2026-12-01", "relationship": "孫"}])]
    result = determine(version=version, events=["shussei"], persons=family,
                       answers={"case": {"parent_public_servant": False}}, on=date(2026, 12, 10), areas=in_a.areas)
    assert result.questions == [] and "kokuho_kanyu" not in result.procedure_codes_by_person()["baby"]
    household = [person_facts_from_dict(p, index=i) for i, p in enumerate([
        {"key": "h", "birth_date": "1970-01-01", "relationship": "世帯主", "eligibilities": ["kokuho"],
         "in_mirror": True, "card_holding": False},
        {"key": "w", "birth_date": "1972-01-01", "relationship": "妻", "eligibilities": ["kokuho"],
         "subject": False, "in_mirror": True},
        {"key": "s", "birth_date": "2000-01-01", "relationship": "子", "eligibilities": ["kokuho"],
         "subject": False, "in_mirror": True}])]
    result = determine(version=version, events=["tenkyo"], persons=household,
                       answers={"persons": {"w": {"new_head": True}}}, on=date(2026, 12, 10), areas=in_a.areas)
    assert result.procedure_codes_by_person() == {
        "h": {"juki_tenkyo", "kokuho_jusho_henkou"}, "w": {"juki_setainushi_henkou", "kokuho_setainushi_henkou"},
        "s": {"kokuho_setainushi_henkou"}}


# ------------------------------------------------------------------------------------------------
# Catalogue counters → the municipality's counters
# ------------------------------------------------------------------------------------------------
def test_every_catalogue_counter_maps_to_a_real_counter_after_the_default_install(in_a, admin_user):  # noqa: ANN001
    from navigation.models import CounterMapping

    services.catalogue_install_default(actor=admin_user)
    data = selectors.catalogue_draft_data()
    assert selectors.unmapped_counters(data) == {}
    known = selectors.counter_map()
    for name in selectors.catalogue_counters(data):
        assert known[name].is_active
    # an explicit mapping wins over the counter of the same name
    assert CounterMapping.objects.exists()


def test_publication_is_refused_with_the_list_of_unmapped_counters(in_a, admin_user):  # noqa: ANN001
    from tenants.accounts.models import Counter

    services.catalogue_install_default(actor=admin_user)
    for code in ("zei_souzokunin", "zei_nouzei_kanrinin"):
        item = Procedure.objects.get(code=code)
        services.catalogue_item_save(actor=admin_user, section="procedures", instance=item,
                                     data={**selectors.procedure_dict(item), "counter": "資産税窓口"})
    before = CatalogueVersion.objects.count()
    with pytest.raises(CatalogueInvalid) as refused:
        services.catalogue_publish(actor=admin_user, effective_from=date.today())
    assert refused.value.problems == [
        "担当窓口「資産税窓口」に対応する窓口がありません（手続：zei_nouzei_kanrinin、zei_souzokunin）。窓口の対応を設定してください。"]
    assert CatalogueVersion.objects.count() == before
    counter = Counter.objects.create(name="税務課 3番")
    services.counter_mapping_set(actor=admin_user, catalogue_counter="資産税窓口", counter=counter)
    version = services.catalogue_publish(actor=admin_user, effective_from=date.today())
    assert version.number == before + 1
    # a deactivated counter no longer serves: the next publication (of a changed draft) is refused again
    counter.is_active = False
    counter.save()
    item = Procedure.objects.get(code="zei_souzokunin")
    services.catalogue_item_save(actor=admin_user, section="procedures", instance=item,
                                 data={**selectors.procedure_dict(item), "fee": "無料"})
    with pytest.raises(CatalogueInvalid):
        services.catalogue_publish(actor=admin_user, effective_from=date.today() + timedelta(days=1))
    with pytest.raises(PermissionDenied):
        services.counter_mapping_set(actor=User.objects.get(username="staff1"), catalogue_counter="資産税窓口",
                                     counter=Counter.objects.filter(is_active=True).first())


def test_counter_mappings_are_per_municipality(tenant_a, tenant_b):  # noqa: ANN001
    from navigation.models import CounterMapping
    from tenants.accounts.models import Counter

    with in_tenant(tenant_a):
        admin = User.objects.get(username="admin")
        mine = Counter.objects.create(name="A市 税の窓口")
        services.counter_mapping_set(actor=admin, catalogue_counter="税務窓口", counter=mine)
        assert selectors.counter_map()["税務窓口"] == mine
    with in_tenant(tenant_b):
        assert CounterMapping.objects.filter(counter__name="A市 税の窓口").count() == 0
        assert selectors.counter_map().get("税務窓口") is None or selectors.counter_map()["税務窓口"].name != mine.name
        admin_b = User.objects.get(username="admin")
        theirs = Counter.objects.create(name="B市 税の窓口")
        services.counter_mapping_set(actor=admin_b, catalogue_counter="税務窓口", counter=theirs)
        assert selectors.counter_map()["税務窓口"] == theirs
    with in_tenant(tenant_a):
        assert selectors.counter_map()["税務窓口"] == mine


def test_case_procedures_go_to_the_mapped_counter(in_a, admin_user):  # noqa: ANN001
    from navigation.cases.services import case_answers_update, case_open
    from tenants.accounts.models import Counter

    services.catalogue_install_default(actor=admin_user)
    kokuho = Counter.objects.create(name="国保・年金 12番")
    services.counter_mapping_set(actor=admin_user, catalogue_counter="保険年金窓口", counter=kokuho)
    staff, counter = User.objects.get(username="staff1"), Counter.objects.get(name="総合窓口 1番")
    case = case_open(actor=staff, counter=counter, event_date=date(2026, 6, 1),
                     newcomers=[{"name": "転入 一子", "birth_date": date(1990, 2, 3), "relationship": "世帯主"}],
                     events=["tennyu"])
    newcomer = case.persons.get()
    case = case_answers_update(actor=staff, counter=counter, case=case,
                               answers={"case:any_employee_insurance": "いいえ",
                                        f"{newcomer.key}:student_special": "いいえ"})
    assert {p.counter for p in case.procedures.filter(area="kokuho")} == {kokuho}


@pytest.mark.schema
def test_a_new_municipality_gets_the_default_counters_mapped(fresh_municipality, django_db_blocker):  # noqa: ANN001
    """Provisioning alone (no command run by hand) leaves counters and every catalogue counter mapped."""
    from navigation.models import CounterMapping
    from tenants.accounts.models import Counter

    municipality = fresh_municipality(areas="juki,kokuho,zei")
    with django_db_blocker.unblock(), in_tenant(municipality):
        names = set(Counter.objects.values_list("name", flat=True))
        # the counters the default catalogue names for the plan's areas (住基 → 総合窓口, 国保 → 保険年金窓口, 税)
        assert names == {"総合窓口", "保険年金窓口", "税務窓口"}
        assert set(CounterMapping.objects.values_list("catalogue_counter", flat=True)) == names
        assert Counter.objects.get(name="保険年金窓口").department.name == "保険年金課"
        assert Counter.objects.get(name="総合窓口").kind == Counter.Kind.GENERAL
        # every counter the default catalogue names for the plan's areas is served: nothing left unmapped
        assert selectors.unmapped_counters(services.default_catalogue()) == {}
        assert services.counters_provision_default(areas=list(municipality.areas)) == {"created": [], "mapped": []}
        # the default catalogue then installs and publishes without a single unmapped counter
        report = services.catalogue_install_default()
        assert report.published is not None
        assert Counter.objects.count() == 3

"""JSON API of the procedure navigation (R2.11): the published catalogue and determination.

Usable by API clients with scope ``navigation:read`` (e.g. a resident-facing navigation) and by staff
sessions. Only procedures of the municipality's business areas are returned (R1.4). Reading a mirror
household (``household_no``) is allowed to staff sessions only and is audited.
"""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditAction
from audit.services import record
from madoguchi.inputs import ApiDateField, parse_input_date
from navigation import selectors
from navigation.determination import answers_normalize, determine
from navigation.facts import ELIGIBILITY_FLAGS, FactsError, household_facts, person_facts_from_dict
from tenants.accounts.api import HasScope
from tenants.accounts.models import ApiClient


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class EventSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class QuestionSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()
    help = serializers.CharField()
    kind = serializers.ChoiceField(choices=["yesno", "choice", "date", "number"])
    scope = serializers.ChoiceField(choices=["person", "case"])
    choices = ChoiceSerializer(many=True)


class ProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    area = serializers.CharField()
    area_label = serializers.CharField()
    guidance = serializers.CharField()
    documents = serializers.ListField(child=serializers.CharField())
    counter = serializers.CharField()
    department = serializers.CharField()
    legal_basis = serializers.CharField()
    legal_url = serializers.CharField()
    fee = serializers.CharField()
    forms = serializers.ListField(child=serializers.CharField())
    events = serializers.ListField(child=serializers.CharField())
    staff_alert = serializers.BooleanField()


class VersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    effective_from = ApiDateField()
    published_at = serializers.DateTimeField()


class CatalogueSerializer(serializers.Serializer):
    version = VersionSerializer()
    events = EventSerializer(many=True)
    questions = QuestionSerializer(many=True)
    procedures = ProcedureSerializer(many=True)


class PersonInputSerializer(serializers.Serializer):
    key = serializers.CharField(required=False, help_text="ケース内で人を識別する値（回答の persons のキー）")
    name = serializers.CharField(required=False, allow_blank=True)
    birth_date = ApiDateField()
    relationship = serializers.CharField(required=False, allow_blank=True, help_text="続柄（世帯主・妻・子 …）")
    sex = serializers.CharField(required=False, allow_blank=True)
    subject = serializers.BooleanField(required=False, default=True,
                                       help_text="届出・事由の対象者（転入する人、亡くなった人、生まれた子 …）")
    foreign = serializers.BooleanField(required=False, default=False)
    residence_status = serializers.CharField(required=False, allow_blank=True)
    support_measure = serializers.BooleanField(required=False, default=False)
    eligibilities = serializers.ListField(child=serializers.ChoiceField(choices=list(ELIGIBILITY_FLAGS)),
                                          required=False, default=list)
    answers = serializers.DictField(required=False, default=dict, help_text="この人の質問への回答")


class DeterminationRequestSerializer(serializers.Serializer):
    events = serializers.ListField(child=serializers.CharField(), min_length=1)
    on = ApiDateField(required=False, help_text="基準日（届出日）。省略時は今日")
    persons = PersonInputSerializer(many=True, required=False, default=list)
    household_no = serializers.CharField(required=False, allow_blank=True,
                                         help_text="住民記録の世帯番号（職員のセッションのみ）")
    subjects = serializers.ListField(child=serializers.CharField(), required=False,
                                     help_text="household_no のとき、事由の対象者の宛名番号（省略時は全員）")
    answers = serializers.DictField(required=False, default=dict,
                                    help_text='{"case": {質問コード: 値}, "persons": {key: {質問コード: 値}}}')


class ProcedureResultSerializer(serializers.Serializer):
    procedure = ProcedureSerializer()
    person_key = serializers.CharField(allow_null=True)
    person_name = serializers.CharField()
    status = serializers.ChoiceField(choices=["required", "pending", "check"])
    reasons = serializers.ListField(child=serializers.CharField())
    rules = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())


class PendingQuestionSerializer(QuestionSerializer):
    person_key = serializers.CharField(allow_null=True)
    person_name = serializers.CharField()
    procedures = serializers.ListField(child=serializers.CharField())


class DeterminationSerializer(serializers.Serializer):
    on = ApiDateField()
    events = serializers.ListField(child=serializers.CharField())
    areas = serializers.ListField(child=serializers.CharField())
    version = serializers.DictField()
    complete = serializers.BooleanField()
    procedures = ProcedureResultSerializer(many=True)
    questions = PendingQuestionSerializer(many=True)


NO_CATALOGUE = {"detail": "手続カタログがまだ公開されていません。"}


class CatalogueView(APIView):
    permission_classes = [HasScope]
    required_scope = "navigation:read"
    throttle_scope = "api"

    @extend_schema(summary="公開中の手続カタログ", parameters=[
        OpenApiParameter("on", type=str, description="基準日（YYYY-MM-DD、省略時は今日）")],
        responses={200: CatalogueSerializer, 404: OpenApiResponse(description="未公開")})
    def get(self, request: Request) -> Response:
        try:
            on = parse_input_date(request.query_params["on"], field="on") if request.query_params.get("on") \
                else date.today()
        except ValueError as exc:
            return Response({"on": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        data = selectors.catalogue_public(on=on)
        if data is None:
            return Response(NO_CATALOGUE, status=status.HTTP_404_NOT_FOUND)
        return Response(CatalogueSerializer(data).data)


class DeterminationView(APIView):
    permission_classes = [HasScope]
    required_scope = "navigation:read"
    throttle_scope = "api"

    @extend_schema(summary="必要な手続の判定と次の質問", request=DeterminationRequestSerializer,
                   responses={200: DeterminationSerializer, 400: OpenApiResponse(description="入力エラー"),
                              404: OpenApiResponse(description="未公開")})
    def post(self, request: Request) -> Response:
        serializer = DeterminationRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payload = serializer.validated_data
        on = payload.get("on") or date.today()
        version = selectors.catalogue_version_current(on=on)
        if version is None:
            return Response(NO_CATALOGUE, status=status.HTTP_404_NOT_FOUND)
        problems: list[str] = []
        household_no = (payload.get("household_no") or "").strip()
        if household_no:
            if isinstance(request.user, ApiClient):
                return Response({"household_no": ["住民記録の参照は職員のみ行えます。"]},
                                status=status.HTTP_403_FORBIDDEN)
            persons = household_facts(household_no=household_no, on=on, subjects=payload.get("subjects"))
            record(action=AuditAction.VIEW, target_type="household", target_id=household_no,
                   details={"purpose": "navigation_determination", "persons": len(persons)},
                   residents=[p.atena_no for p in persons if p.atena_no])
        else:
            persons = []
            for index, raw in enumerate(request.data.get("persons") or []):
                try:
                    persons.append(person_facts_from_dict(
                        {**raw, "birth_date": payload["persons"][index]["birth_date"].isoformat()}, index=index))
                except FactsError as exc:
                    problems.extend(exc.problems)
        if not persons and not problems:
            problems.append("persons: 人を1人以上指定してください。")
        keys = [p.key for p in persons]
        if len(set(keys)) != len(keys):
            problems.append("persons: key が重複しています。")
        known_events = {event["code"] for event in version.snapshot["events"]}
        unknown_events = [e for e in payload["events"] if e not in known_events]
        if unknown_events:
            problems.append(f"events: 未知の異動事由 {', '.join(unknown_events)}")
        answers, answer_problems = answers_normalize(version=version, answers=payload.get("answers"),
                                                     person_keys=keys)
        problems.extend(answer_problems)
        if problems:
            return Response({"errors": problems}, status=status.HTTP_400_BAD_REQUEST)
        result = determine(version=version, events=payload["events"], persons=persons, answers=answers, on=on,
                           areas=selectors.municipality_areas())
        return Response(DeterminationSerializer(result.as_dict()).data)

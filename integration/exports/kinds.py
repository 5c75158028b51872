"""The export kinds shipped with Madoguchi (registered on import from the AppConfig).

Items follow the 住民記録システム標準仕様書 managed items where it names them (see
docs/integration-exports.md). The exact column names of the データ要件・連携要件標準仕様書 are not public,
so codes are internal and every layout maps them to the core system's headers and code values.
One record = one person (a 住民異動届 for a household of three is three records sharing ``source_id``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _lazy

from integration.exports.registry import ExportItem, ExportKind, register

SEX = (("1", "男"), ("2", "女"), ("9", "その他・不明"))


def _person_items() -> tuple[ExportItem, ...]:
    return (
        ExportItem("atena_no", "宛名番号",
                   _lazy("住民記録システムの個人の番号（末尾はチェックデジット）。新規の転入者は空欄"),
                   identifies="resident"),
        ExportItem("household_no", "世帯番号", _lazy("世帯の番号（末尾はチェックデジット）。新しい世帯は空欄"),
                   identifies="household"),
        ExportItem("name", "氏名", _lazy("異動者の氏名（外字は同定済みの文字）"), required=True, max_length=100),
        ExportItem("name_kana", "フリガナ", _lazy("氏名のフリガナ（全角カタカナ）"), max_length=200),
        ExportItem("birth_date", "生年月日", _lazy("異動者の生年月日"), type="date"),
        ExportItem("sex", "性別", _lazy("性別コード"), type="code", codes=SEX),
    )


JUKI_IDOU = ExportKind(
    code="juki_idou",
    label=_lazy("住民異動届"),
    area="juki",
    basis=_lazy("住民記録システム標準仕様書（住民異動届の取込）"),
    description=_lazy("窓口で受け付けた転入・転出・転居・世帯変更の届出。異動者1人につき1件。"),
    items=(
        ExportItem("idou_jiyu", "異動事由", _lazy("届出の種類"), type="code", required=True,
                   codes=(("tennyu", "転入"), ("tenshutsu", "転出"), ("tenkyo", "転居"),
                          ("setai_henkou", "世帯変更"))),
        ExportItem("idou_date", "異動日", _lazy("転入・転居した日、転出する（予定）日"), type="date", required=True),
        ExportItem("todokede_date", "届出日", _lazy("届出を受け付けた日"), type="date", required=True),
        *_person_items(),
        ExportItem("relationship", "続柄", _lazy("世帯主との続柄（世帯主、妻、子、子の子など）"), max_length=20),
        ExportItem("is_head", "世帯主", _lazy("異動者が世帯主か（1: 世帯主, 0: 世帯員）"), type="code",
                   codes=(("1", "世帯主"), ("0", "世帯員"))),
        ExportItem("head_name", "世帯主氏名", _lazy("異動後の世帯の世帯主の氏名"), max_length=100),
        ExportItem("new_address", "新住所", _lazy("転入・転居後の住所、または転出先の住所"), max_length=200,
                   address=True),
        ExportItem("new_katagaki", "新住所方書", _lazy("新住所の方書（建物名・部屋番号）"), max_length=200,
                   address=True),
        ExportItem("new_postcode", "新住所郵便番号", _lazy("7桁の郵便番号"), max_length=8, address=True),
        ExportItem("old_address", "旧住所", _lazy("転入前の住所、または転居前の住所"), max_length=200, address=True),
        ExportItem("old_katagaki", "旧住所方書", _lazy("旧住所の方書"), max_length=200, address=True),
        ExportItem("notifier_name", "届出人氏名", _lazy("届出をした人の氏名"), max_length=100),
        ExportItem("notifier_relation", "届出人続柄", _lazy("異動者から見た届出人（本人、世帯主、代理人など）"),
                   max_length=20),
    ),
)

INKAN_HAISHI = ExportKind(
    code="inkan_haishi",
    label=_lazy("印鑑登録廃止"),
    area="inkan",
    basis=_lazy("印鑑登録証明事務処理要領"),
    description=_lazy("印鑑登録の廃止申請（転出・死亡に伴う職権廃止を含む）。"),
    items=(
        ExportItem("haishi_jiyu", "廃止事由", _lazy("廃止の理由"), type="code", required=True,
                   codes=(("shinsei", "本人申請"), ("boushitsu", "登録証亡失"), ("tenshutsu", "転出"),
                          ("shibou", "死亡"))),
        ExportItem("haishi_date", "廃止日", _lazy("印鑑登録を廃止する日"), type="date", required=True),
        ExportItem("todokede_date", "届出日", _lazy("申請を受け付けた日"), type="date", required=True),
        ExportItem("touroku_no", "印鑑登録番号", _lazy("印鑑登録証の番号"), max_length=20),
        *_person_items(),
    ),
)

KOKUHO_SHIKAKU = ExportKind(
    code="kokuho_shikaku",
    label=_lazy("国保資格取得・喪失届"),
    area="kokuho",
    basis=_lazy("国民健康保険システム標準仕様書（資格異動）"),
    description=_lazy("国民健康保険の加入（資格取得）・脱退（資格喪失）の届出。被保険者1人につき1件。"),
    items=(
        ExportItem("idou_kubun", "異動区分", _lazy("資格の取得か喪失か"), type="code", required=True,
                   codes=(("shutoku", "資格取得"), ("soushitsu", "資格喪失"))),
        ExportItem("idou_jiyu", "異動事由", _lazy("取得・喪失の理由"), type="code", required=True,
                   codes=(("tennyu", "転入"), ("shaho_ridatsu", "社会保険離脱"), ("shussei", "出生"),
                          ("tenshutsu", "転出"), ("shaho_kanyu", "社会保険加入"), ("shibou", "死亡"),
                          ("sonota", "その他"))),
        ExportItem("idou_date", "資格異動日", _lazy("資格を取得・喪失した日"), type="date", required=True),
        ExportItem("todokede_date", "届出日", _lazy("届出を受け付けた日"), type="date", required=True),
        *_person_items(),
        ExportItem("relationship", "続柄", _lazy("世帯主との続柄"), max_length=20),
        ExportItem("head_name", "世帯主氏名", _lazy("国保の世帯主（納税義務者）の氏名"), max_length=100),
        ExportItem("hokensha_name", "前保険者名", _lazy("資格取得の場合は直前の保険者、喪失の場合は加入した保険者"),
                   max_length=100),
    ),
)

JIDOU_TEATE_NINTEI = ExportKind(
    code="jidou_teate_nintei",
    label=_lazy("児童手当認定請求"),
    area="jidou_teate",
    basis=_lazy("児童手当法施行規則 様式第1号（認定請求書）"),
    description=_lazy("児童手当の認定請求（受給者1人につき1件、対象児童は人数と代表者）。"),
    items=(
        ExportItem("seikyu_date", "請求日", _lazy("認定請求書を受け付けた日"), type="date", required=True),
        ExportItem("jiyu", "請求事由", _lazy("請求の理由"), type="code", required=True,
                   codes=(("shussei", "出生"), ("tennyu", "転入"), ("sonota", "その他"))),
        ExportItem("atena_no", "請求者宛名番号", _lazy("請求者の宛名番号"), identifies="resident"),
        ExportItem("name", "請求者氏名", _lazy("受給者となる人の氏名"), required=True, max_length=100),
        ExportItem("name_kana", "請求者フリガナ", _lazy("請求者の氏名のフリガナ"), max_length=200),
        ExportItem("birth_date", "請求者生年月日", _lazy("請求者の生年月日"), type="date"),
        ExportItem("child_count", "対象児童数", _lazy("支給の対象となる児童の人数"), type="number", required=True),
        ExportItem("child_name", "対象児童氏名（代表）", _lazy("対象児童のうち最も年少の児童の氏名"), max_length=100),
        ExportItem("child_birth_date", "対象児童生年月日（代表）", _lazy("その児童の生年月日"), type="date"),
    ),
)

CERTIFICATE_REQUEST = ExportKind(
    code="certificate_request",
    label=_lazy("証明書交付申請"),
    area="juki",
    basis=_lazy("住民記録システム標準仕様書（交付申請書の取込）"),
    description=_lazy("住民票の写し等の交付申請。申請1件につき1件。"),
    items=(
        ExportItem("certificate", "証明書の種類", _lazy("交付を申請された証明書"), type="code", required=True,
                   codes=(("juminhyo", "住民票の写し"), ("kisai_jiko", "住民票記載事項証明書"),
                          ("fuhyo", "戸籍の附票の写し"), ("inkan", "印鑑登録証明書"))),
        ExportItem("copies", "通数", _lazy("交付する通数"), type="number", required=True),
        ExportItem("todokede_date", "申請日", _lazy("申請を受け付けた日"), type="date", required=True),
        ExportItem("applicant_kubun", "請求者区分", _lazy("申請した人と対象者の関係"), type="code",
                   codes=(("honnin", "本人"), ("setai", "同一世帯の人"), ("dairi", "代理人"))),
        *_person_items(),
        ExportItem("purpose", "使用目的", _lazy("申請書に記載された使用目的"), max_length=100),
    ),
)

for _kind in (JUKI_IDOU, INKAN_HAISHI, KOKUHO_SHIKAKU, JIDOU_TEATE_NINTEI, CERTIFICATE_REQUEST):
    register(_kind)

"""The column sets of the registry's spreadsheets: units, organizations and members.

One definition serves the import (which headers it reads, which cells are required), the export (what it writes)
and the template (Chinese headers, dropdowns for coded fields). A coded field shows its Chinese label in the file
(制造业, 大学本科, 基层工会); the import also takes the code (``C``, ``bachelor``) or both (``C 制造业``), so a file
exported by another system or typed by hand reads the same. The labels come from the registry's own code lists
(``core/models``), never a copy.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from core.models.organization import KINDS
from core.models.person import EDUCATION_LEVELS, EMPLOYMENT_FORMS, ETHNICITIES, HOUSEHOLD_TYPES
from core.models.unit import ECONOMIC_TYPES, INDUSTRIES
from core.spreadsheets import Column

#: The Chinese name of each kind of organization (GLOSSARY.md).
KIND_LABELS: dict[str, str] = dict(zip(KINDS, (
    "市总工会", "县（市、区）总工会", "产业（行业）工会", "乡镇（街道）总工会", "基层工会",
    "市直企业工会委员会", "职工服务中心工会委员会", "网格工会",
)))
YES_NO = {"yes": "是", "no": "否"}

#: Coded columns: code -> Chinese label. The file shows the label.
CODES: dict[str, dict[str, str]] = {
    "industry": INDUSTRIES,
    "economic_type": ECONOMIC_TYPES,
    "has_union": YES_NO,
    "kind": KIND_LABELS,
    "joint": YES_NO,
    "ethnicity": {name: name for name in ETHNICITIES},
    "education": EDUCATION_LEVELS,
    "household_type": HOUSEHOLD_TYPES,
    "employment_form": EMPLOYMENT_FORMS,
}


def _coded(key: str, header: str, **options) -> Column:
    return Column(key, header, choices=tuple(CODES[key].values()), **options)


UNITS: tuple[Column, ...] = (
    Column("name", "单位名称", required=True, width=36, note="与营业执照或登记证书一致"),
    Column("credit_code", "统一社会信用代码", width=22, aliases=("信用代码", "社会信用代码"),
           note="18位；2015年以前的单位可填工商注册号或组织机构代码"),
    Column("registration_number", "工商注册号", width=18),
    Column("organization_code", "组织机构代码", width=14),
    Column("region", "所属区域", width=20, aliases=("区域",), note="区域名称或区划代码"),
    _coded("industry", "所属行业", width=24, aliases=("行业",)),
    _coded("economic_type", "单位类别", width=22, aliases=("经济类型",)),
    Column("address", "单位地址", width=36, aliases=("地址",)),
    Column("legal_representative", "法定代表人", width=12),
    Column("employees", "职工人数", width=10, kind="number"),
    Column("women", "女职工人数", width=10, kind="number"),
    Column("dispatched", "劳务派遣工人数", width=12, kind="number"),
    Column("migrant_workers", "农民工人数", width=10, kind="number"),
    _coded("has_union", "是否建会", width=10),
    Column("organization", "所属工会", width=36, aliases=("覆盖工会",), note="覆盖本单位的基层工会全称"),
)

ORGANIZATIONS: tuple[Column, ...] = (
    Column("name", "工会名称", required=True, width=36, note="与印章一致的全称"),
    _coded("kind", "组织类型", required=True, width=20),
    _coded("joint", "是否联合工会", width=12),
    Column("parent", "上级工会", width=36, note="上级工会全称；市总工会不填"),
    Column("region", "所属区域", width=20, aliases=("区域",), note="区域名称或区划代码"),
    Column("chairman_name", "工会主席", width=12, aliases=("主席",)),
    Column("contact_name", "联系人", width=12),
    Column("contact_phone", "联系电话", width=16),
    Column("legal_person_cert_no", "法人资格证书号", width=20),
    Column("term_ends_on", "届满日期", width=12, kind="date", note="本届委员会任期届满之日，如 2029-06-30"),
)

MEMBERS: tuple[Column, ...] = (
    Column("name", "姓名", required=True, width=10),
    Column("id_number", "身份证号", required=True, width=22, aliases=("身份证号码", "公民身份号码"),
           note="18位；15位旧号自动转换"),
    Column("phone", "手机号码", width=14, aliases=("手机号", "联系电话")),
    _coded("ethnicity", "民族", width=10),
    _coded("education", "学历", width=12, aliases=("文化程度",)),
    Column("political_status", "政治面貌", width=10),
    Column("native_place", "籍贯", width=12),
    _coded("household_type", "户口性质", width=10, aliases=("户籍类型",)),
    _coded("employment_form", "就业形态", width=14),
    Column("position", "职务", width=12),
    Column("title", "职称", width=12),
    Column("organization", "所属工会", required=True, width=36, note="会员所在基层工会或蓄水池的全称"),
    Column("unit", "工作单位", width=36, note="单位全称"),
    Column("unit_code", "单位信用代码", width=22, aliases=("工作单位统一社会信用代码",),
           note="有则优先按代码找单位"),
    Column("joined_on", "入会日期", width=12, kind="date", note="如 2024-03-01；不填为导入当天"),
    Column("remarks", "备注", width=24),
)

#: The example row of each template, in the file's own words.
EXAMPLES: dict[str, tuple[dict, ...]] = {
    "units": ({"name": "宜昌示例物流有限公司", "credit_code": "91420500MA4KXXXXXX", "region": "夷陵区",
               "industry": "交通运输、仓储和邮政业", "economic_type": "私营有限责任公司", "employees": 120,
               "has_union": "是", "organization": "宜昌示例物流有限公司工会委员会"},),
    "organizations": ({"name": "宜昌示例物流有限公司工会委员会", "kind": "基层工会", "joint": "否",
                       "parent": "小溪塔街道总工会", "region": "小溪塔街道", "chairman_name": "赵一",
                       "term_ends_on": "2029-06-30"},),
    "members": ({"name": "张三", "id_number": "420506199001011234", "phone": "13907171234", "ethnicity": "汉族",
                 "education": "大学本科", "employment_form": "职工", "organization": "宜昌示例物流有限公司工会委员会",
                 "unit": "宜昌示例物流有限公司", "joined_on": "2024-03-01"},),
}

SETS: dict[str, tuple[Column, ...]] = {"units": UNITS, "organizations": ORGANIZATIONS, "members": MEMBERS}
#: Sheet titles and file names.
TITLES: dict[str, str] = {"units": "单位", "organizations": "工会组织", "members": "会员"}


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").replace(" ", "").strip()


def _spellings(codes: dict[str, str]) -> dict[str, tuple[int, str]]:
    """Every way a cell may name a code -> (the code's position, the code): its label, its code, both."""
    found: dict[str, tuple[int, str]] = {}
    for position, (code, text) in enumerate(codes.items()):
        for spelling in (_plain(text), code, _plain(code + text)):
            found.setdefault(spelling, (position, code))
    return found


#: Built once: an import decodes several cells of every row (a million rows, a few million lookups).
_SPELLINGS = {key: _spellings(codes) for key, codes in CODES.items()}
#: A lowercase code also matches when typed in capitals (BACHELOR).
_LOWER = {key: {code: (position, code) for position, code in enumerate(codes) if code == code.lower()}
          for key, codes in CODES.items()}


@lru_cache(maxsize=4096)  # a roster repeats a few dozen texts a million times
def decode(key: str, text: str) -> str:
    """The code a cell of coded column ``key`` names: its label (制造业), its code (C) or both (C 制造业).
    Raises ``ValueError`` naming what the cell may hold."""
    wanted = _plain(text)
    found = [hit for hit in (_SPELLINGS[key].get(wanted), _LOWER[key].get(wanted.lower())) if hit is not None]
    if found:
        return min(found)[1]  # the first code of the list that the cell names, as a scan would find it
    codes = CODES[key]
    shown = "、".join(list(codes.values())[:12]) + ("……" if len(codes) > 12 else "")
    raise ValueError(f"one of {shown}")


def label(key: str, code: str | None) -> str:
    """What a coded column shows for ``code`` ("" for none)."""
    if code is None or code == "":
        return ""
    return CODES[key].get(code, code)

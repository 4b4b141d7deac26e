"""People (职工、会员): keyed by the 18-character ID number, stored encrypted with a blind index.

The code lists below are data: the API and imports take the codes, pages and printed forms show the Chinese.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto import Encrypted
from core.db import Base, TenantOwned, Timestamped, Versioned

SEXES = {"M": "男", "F": "女"}

#: 就业形态. The last eight are the new forms of employment (新就业形态) the ACFTU recruits among.
EMPLOYMENT_FORMS = {
    "employee": "职工",
    "dispatched": "劳务派遣工",
    "flexible": "灵活就业人员",
    "migrant": "农民工",
    "part_time": "非全日制用工",
    "truck_driver": "货车司机",
    "courier": "快递员",
    "delivery_rider": "外卖送餐员",
    "ride_hailing_driver": "网约车司机",
    "online_streamer": "网络主播",
    "security_guard": "保安员",
    "care_worker": "护工护理员",
    "domestic_worker": "家政服务员",
}

#: 学历, after GB/T 4658.
EDUCATION_LEVELS = {
    "doctorate": "博士研究生",
    "masters": "硕士研究生",
    "bachelor": "大学本科",
    "college": "大学专科",
    "secondary_vocational": "中等职业教育",
    "high_school": "普通高中",
    "junior_high": "初中",
    "primary": "小学",
    "none": "未上过学",
}

#: 户口性质.
HOUSEHOLD_TYPES = {"urban": "城镇", "rural": "农村"}

#: 民族, in the order of GB/T 3304 (its code is the position, 01 汉族 ... 56 基诺族), then 97 and 98.
ETHNICITIES = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
    "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族",
    "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族",
    "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族", "其他未识别民族", "外国血统中国籍人士",
)

#: How a member confirmed a record someone else filled in on their behalf (代填确认方式).
CONFIRMATIONS = {"phone": "电话", "sms": "短信", "wechat": "微信", "in_person": "当面", "written": "书面"}


#: A record lacking one of the registration form's coded fields (工会会员登记表): the data-quality check's condition,
#: and the predicate of its partial index.
INCOMPLETE = "ethnicity = '' OR education = '' OR household_type = '' OR employment_form = ''"


class Person(TenantOwned, Versioned, Timestamped, Base):
    """A person of the real-name registry (实名制).

    The ID number is never stored in clear: ``id_number`` is encrypted and ``id_number_index`` is its keyed
    blind index, unique per tenant, so lookup by ID number is an indexed equality. Sex and birth date are
    derived from the ID number once, when it is written. The phone is stored the same way.
    """

    __tablename__ = "person"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "id_number_index"),
        sa.Index("ix_person_tenant_id_phone_index", "tenant_id", "phone_index"),
        sa.Index("ix_person_tenant_id_name", "tenant_id", "name"),
        # The data-quality checks (core/registry/quality.py): ages out of range, one person registered twice
        # (same name, birth date and sex), records lacking a registration form's field (few, so a partial index).
        sa.Index("ix_person_tenant_id_birth_date", "tenant_id", "birth_date"),
        sa.Index("ix_person_tenant_id_name_birth_date_sex", "tenant_id", "name", "birth_date", "sex"),
        sa.Index("ix_person_incomplete", "tenant_id", postgresql_where=sa.text(INCOMPLETE), sqlite_where=sa.text(INCOMPLETE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(Encrypted, nullable=False)
    #: ``core.crypto.blind_index("id_number", <18 characters>)``.
    id_number_index: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    sex: Mapped[str] = mapped_column(sa.String(1), nullable=False)  # a key of SEXES, from the sequence digit
    birth_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    #: A mainland mobile number (11 digits), encrypted; ``phone_index`` is ``blind_index("phone", ...)``, the
    #: same index users and organizations keep, so one number finds all three.
    phone: Mapped[str | None] = mapped_column(Encrypted)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64))
    ethnicity: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")  # one of ETHNICITIES
    education: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")  # a key of EDUCATION_LEVELS
    political_status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    native_place: Mapped[str] = mapped_column(sa.String(50), nullable=False, default="")
    household_type: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="")  # a key of HOUSEHOLD_TYPES
    employment_form: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")  # of EMPLOYMENT_FORMS
    position: Mapped[str] = mapped_column(sa.String(50), nullable=False, default="")
    title: Mapped[str] = mapped_column(sa.String(50), nullable=False, default="")
    remarks: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    #: A record filled in on the person's behalf keeps who did it and how the person confirmed it
    #: (a key of CONFIRMATIONS); both empty when the person filled it in themself.
    filled_in_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    confirmed_via: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="")

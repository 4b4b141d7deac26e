"""The printed forms (flow 10): what the chairman prints and files when an application reaches them (seed, 三(一)
第三步 and 三(二)第三步), and the formation notice a federation serves on a unit without a union (督促建会 2(1)).

    join       中华全国总工会入会申请书 (join application form), 工会会员登记表 (member registration form)
    transfer   工会会员组织关系介绍信 (transfer letter, with its 存根 and 回执), 工会会员组织关系管理卡
               (membership management card)
    drive      工会组建通知书 (formation notice)

A form is built once, as a ``Sheet`` of blocks (headings, paragraphs, bordered grids, signature and seal spaces,
cut lines), filled from the application and the registry; the same sheet is drawn as print-ready HTML
(``templates/yichang/forms/sheet.html``) and as an A4 PDF (reportlab, with the Adobe-GB1 CID font STSong-Light,
which every PDF viewer can show without a font file in the PDF). Two forms carry the full ID number, because the
archive copy must identify the member: the registration form and the management card. They show it only to a
``reader`` the caller has allowed, and the read is on record (``audit.record_read``); everyone else gets the
masked number, as on every other form.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cities.yichang import texts
from cities.yichang.models import Application, FormationDrive
from cities.yichang.settings import rules as rules_of
from core.toolkit import (
    Membership,
    NotFound,
    Organization,
    Person,
    PrintableForm,
    Unit,
    audit,
    by_id,
    id_numbers,
    mask_id_number,
    mask_phone,
    memberships,
    people,
)

#: The forms of an application, by key, in the order the chairman files them.
TITLES = {
    "join_application": "中华全国总工会入会申请书",
    "registration": "工会会员登记表",
    "transfer_letter": "工会会员组织关系介绍信",
    "management_card": "工会会员组织关系管理卡",
}
NOTICE_TITLE = "工会组建通知书"
#: Which forms each kind of application prints (seed: a join prints the first two, a transfer the last two).
FOR_KIND = {"join": ("join_application", "registration"), "transfer": ("transfer_letter", "management_card")}
#: The forms that carry the full ID number, for a reader the caller allows.
FULL_ID_FORMS = ("registration", "management_card")

SEXES = {"M": "男", "F": "女"}
#: Where a form leaves a value for the hand to write.
BLANK = "＿＿＿＿＿＿＿＿"
BLANK_DATE = "　　　　年　　月　　日"
#: A4 less 20 mm margins each side: the grids' column widths add up to this.
WIDTH_MM = 170


# --- what a sheet is made of -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One cell of a grid. ``label``: a printed caption (centred), else a filled-in value. ``sign``: lines set at
    the bottom right of a tall cell, where the signature, seal and date go."""

    text: str = ""
    span: int = 1
    rows: int = 1
    label: bool = False
    align: str = ""
    sign: tuple[str, ...] = ()

    @property
    def alignment(self) -> str:
        return self.align or ("center" if self.label else "left")


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    height: int = 0  # mm; 0: as high as the text needs


@dataclass(frozen=True)
class Grid:
    widths: tuple[int, ...]  # mm, adding up to WIDTH_MM
    rows: tuple[Row, ...]
    joined: bool = False  # continues the grid above it, with no space between
    kind: str = "grid"

    def __post_init__(self):
        if sum(self.widths) != WIDTH_MM:
            raise ValueError(f"a grid's columns add up to {WIDTH_MM} mm, not {sum(self.widths)}")


@dataclass(frozen=True)
class Heading:
    text: str
    size: str = "title"  # "title" or "small" (the stub and the receipt of a letter)
    kind: str = "heading"


@dataclass(frozen=True)
class Text:
    text: str
    align: str = "left"
    indent: bool = False  # a paragraph's two-character first-line indent
    small: bool = False
    kind: str = "text"


@dataclass(frozen=True)
class Signature:
    """The issuer, seal and date block at the bottom right of a letter."""

    lines: tuple[str, ...]
    kind: str = "signature"


@dataclass(frozen=True)
class Cut:
    """A dashed line to cut along (the stub and receipt of a transfer letter)."""

    text: str = ""
    kind: str = "cut"


@dataclass(frozen=True)
class Sheet:
    key: str
    title: str
    blocks: tuple
    body_pt: float = 12  # 小四; the notice is a letter in 三号 (16 pt), as official documents are
    full_id_number: bool = False
    filename: str = ""


# --- dates as the forms write them -------------------------------------------------------------------------------

_DIGITS = "〇一二三四五六七八九"


def chinese_date(day: dt.date | None) -> str:
    """``2025年3月10日`` (a field's value); the blank date when there is none."""
    return texts.chinese_date(day) if day else BLANK_DATE


def chinese_month(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月" if day else "　　年　　月"


def _number(n: int) -> str:
    if n <= 10:
        return "十" if n == 10 else _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def seal_date(day: dt.date | None) -> str:
    """``二〇二五年三月十日``: the date under a seal, written out in Chinese numerals."""
    if day is None:
        return BLANK_DATE
    return "".join(_DIGITS[int(d)] for d in str(day.year)) + f"年{_number(day.month)}月{_number(day.day)}日"


# --- what the forms read from the application and the registry ---------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """The applicant and their application as the forms write them (Chinese, masked unless ``full``)."""

    number: int
    name: str
    sex: str
    birth_date: dt.date
    ethnicity: str
    education: str
    political_status: str
    native_place: str
    household_type: str
    employment_form: str
    position: str
    title: str
    id_number: str
    phone: str
    unit: str
    credit_code: str
    union: str  # the union deciding the application (a grassroots union or a reservoir); "" before verification
    from_union: str  # a transfer's old union
    joined_on: dt.date | None  # when the person first joined (入会时间)
    card_number: str
    submitted_on: dt.date
    decided_on: dt.date | None
    approved: bool
    history: tuple[tuple[str, str, dt.date | None, str], ...]  # (from, to, on, note) of each move of membership


def facts(session, application: Application, *, full: bool) -> Facts:
    person = session.get(Person, application.person_id)
    unit = session.get(Unit, application.unit_id) if application.unit_id else None
    past = memberships.history(session, person)
    names = _names(session, {m.organization_id for m in past} | {application.organization_id} | (
        {unit.organization_id} if unit is not None and unit.organization_id else set()))
    moved = session.get(Membership, application.from_membership_id) if application.from_membership_id else None
    union = names.get(application.organization_id) or (names.get(unit.organization_id, "") if unit else "")
    card = next((m.card_number for m in reversed(past) if m.card_number), "")
    codes = people.CODES
    return Facts(
        number=application.id, name=person.name, sex=SEXES.get(person.sex, ""), birth_date=person.birth_date,
        ethnicity=person.ethnicity, education=codes["education"].get(person.education, ""),
        political_status=person.political_status, native_place=person.native_place,
        household_type=codes["household_type"].get(person.household_type, ""),
        employment_form=codes["employment_form"].get(application.employment_form or person.employment_form, ""),
        position=person.position, title=person.title,
        id_number=person.id_number if full else mask_id_number(person.id_number),
        phone=(person.phone if full else mask_phone(person.phone)) or "",
        unit=unit.name if unit is not None else application.other_unit_name,
        credit_code=(unit.credit_code or unit.organization_code or "") if unit is not None else "",
        union=union, from_union=names.get(moved.organization_id, "") if moved else application.previous_union,
        joined_on=past[0].started_on if past else None, card_number=card or "",
        submitted_on=application.submitted_on, decided_on=application.decided_on,
        approved=application.status == "approved", history=_history(past, names, application, union),
    )


def _names(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())


_MOVES = {"transferred": "转会", "moved_out": "迁出"}


def _history(past: list[Membership], names: dict, application: Application, union: str):
    """The 组织关系接转 rows: each membership that followed another, and a transfer still waiting for its decision
    (dated when it is approved; the chairman files the card before deciding)."""
    by_id = {m.id: m for m in past}
    rows = []
    for membership in past:
        before = by_id.get(membership.via_id)
        if before is None:
            continue
        note = "会籍暂存（蓄水池）" if membership.parked else _MOVES.get(before.end_reason or "", "")
        rows.append((names.get(before.organization_id, ""), names.get(membership.organization_id, ""),
                     membership.started_on, note))
    if application.kind == "transfer" and application.status in ("submitted", "dispatched", "verified"):
        current = next((m for m in reversed(past) if m.status != "ended"), None)
        rows.append((names.get(current.organization_id, "") if current else application.previous_union,
                     union or BLANK, None, "待审批"))
    return tuple(rows)


# --- the forms ---------------------------------------------------------------------------------------------------


def _values(*pairs) -> tuple[Cell, ...]:
    """Caption, value, caption, value, ... as cells; a value given as a Cell keeps its span."""
    cells = []
    for n, item in enumerate(pairs):
        cells.append(item if isinstance(item, Cell) else Cell(item, label=n % 2 == 0))
    return tuple(cells)


def _footnote(f: Facts) -> Text:
    return Text(f"申请编号：{f.number}　网上提交日期：{chinese_date(f.submitted_on)}", align="right", small=True)


def join_application(f: Facts) -> tuple:
    """中华全国总工会入会申请书: the applicant's pledge under the Constitution of the Chinese Trade Unions, and the
    grassroots union's opinion under its seal."""
    pledge = ("本人自愿加入中华全国总工会，承认《中国工会章程》，遵守工会的各项规定，执行工会决议，"
              "按期交纳会费，积极参加工会活动，履行会员义务。")
    opinion = f"经审核，同意{f.name}同志加入中华全国总工会。" if f.approved else ""
    return (
        Heading(TITLES["join_application"]),
        Grid((24, 34, 22, 34, 22, 34), (
            Row(_values("姓　　名", f.name, "性　　别", f.sex, "出生年月", chinese_month(f.birth_date)), 11),
            Row(_values("民　　族", f.ethnicity, "政治面貌", f.political_status, "文化程度", f.education), 11),
            Row(_values("身份证号", Cell(f.id_number, span=3), "联系电话", f.phone), 11),
            Row(_values("工作单位", Cell(f.unit, span=5)), 11),
            Row(_values("就业形态", f.employment_form, "职　　务", Cell(f.position, span=3)), 11),
            Row(_values("申请加入\n工会组织", Cell(f.union, span=5)), 11),
            Row((Cell("入会申请", label=True),
                 Cell(pledge, span=5, sign=(f"申请人：{f.name}", chinese_date(f.submitted_on)))), 62),
            Row((Cell("基层工会\n意　　见", label=True),
                 Cell(opinion, span=5, sign=("（盖章）", seal_date(f.decided_on if f.approved else None)))), 48),
        )),
        Text("注：本申请书由申请人网上提交，基层工会审核后打印存档。", small=True),
        _footnote(f),
    )


def registration(f: Facts) -> tuple:
    """工会会员登记表: the member's record as the registry holds it, with a photo box, the member's confirmation and
    the union's seal."""
    return (
        Heading(TITLES["registration"]),
        Text(f"所在工会：{f.union or BLANK}　　　　填表日期：{chinese_date(f.submitted_on)}", small=True),
        Grid((20, 30, 18, 24, 20, 28, 30), (
            Row(_values("姓　　名", f.name, "性　别", f.sex, "民　　族", f.ethnicity)
                + (Cell("照片\n（一寸）", rows=4, label=True),), 11),
            Row(_values("出生日期", chinese_date(f.birth_date), "政治面貌", f.political_status,
                        "文化程度", f.education), 11),
            Row(_values("籍　　贯", f.native_place, "户籍类型", f.household_type, "就业形态", f.employment_form), 11),
            Row(_values("身份证号", Cell(f.id_number, span=3), "联系电话", f.phone), 11),
            Row(_values("工作单位", Cell(f.unit, span=3), "统一社会\n信用代码", Cell(f.credit_code, span=2)), 13),
            Row(_values("职　　务", f.position, "职　称", f.title, "入会时间",
                        Cell(chinese_date(f.decided_on) if f.approved else "", span=2)), 11),
            Row(_values("会员证号", Cell(f.card_number, span=3), "申请方式", Cell("网上申请", span=2)), 11),
            Row((Cell("本人确认", label=True),
                 Cell("以上信息真实、准确。", span=6, sign=("本人签名：　　　　　　", BLANK_DATE))), 30),
            Row((Cell("基层工会\n意　　见", label=True),
                 Cell("同意入会。" if f.approved else "", span=6,
                      sign=("（盖章）", seal_date(f.decided_on if f.approved else None)))), 36),
        )),
        _footnote(f),
    )


def transfer_letter(f: Facts) -> tuple:
    """工会会员组织关系介绍信: the stub the old union keeps, the letter to the new union, and the receipt the new
    union sends back, on one sheet cut along the dashed lines. Issued by the old union, under its seal."""
    number = f"第 {f.number} 号"
    old, new = f.from_union or BLANK, f.union or BLANK
    who = f"{f.name}同志（性别{f.sex}，身份证号{f.id_number}）"
    issued = seal_date(f.decided_on if f.approved else None)
    joined = chinese_month(f.joined_on)
    return (
        Heading(f"{TITLES['transfer_letter']}（存根）", size="small"),
        Text(number, align="right"),
        Text(f"{who}，系{old}会员，于{joined}入会，会费交至　　年　　月，其会员组织关系转往{new}。", indent=True),
        Text(f"经办人：　　　　　　　　{issued}", align="right"),
        Cut(f"（骑缝）{number}"),
        Heading(TITLES["transfer_letter"]),
        Text(number, align="right"),
        Text(f"{new}："),
        Text(f"兹介绍{who}转去你处，其会员组织关系请予接转。", indent=True),
        Text(f"该同志于{joined}加入工会，会费已交至　　年　　月。", indent=True),
        Text("特此介绍。", indent=True),
        Signature((f"{old}（盖章）", issued)),
        Text("（有效期三十天）", small=True),
        Cut("回执（请接转后沿此线剪下寄回）"),
        Heading("回　　执", size="small"),
        Text(f"{old}："),
        Text(f"{f.name}同志的会员组织关系已于　　年　　月　　日转入我会。", indent=True),
        Signature((f"{new}（盖章）", BLANK_DATE)),
    )


def management_card(f: Facts) -> tuple:
    """工会会员组织关系管理卡: the member's details, then one row for each move of the membership (组织关系接转),
    with blank rows for the moves to come."""
    moves = [Row((Cell(str(n), align="center"), Cell(out), Cell(into), Cell(chinese_date(on) if on else "",
                                                                            align="center"), Cell(note)), 10)
             for n, (out, into, on, note) in enumerate(f.history, 1)]
    moves += [Row((Cell(str(n), align="center"), Cell(), Cell(), Cell(), Cell()), 10)
              for n in range(len(moves) + 1, max(len(moves), 5) + 3)]
    return (
        Heading(TITLES["management_card"]),
        Text(f"会员证号：{f.card_number or BLANK}", align="right", small=True),
        Grid((24, 34, 22, 34, 22, 34), (
            Row(_values("姓　　名", f.name, "性　　别", f.sex, "出生年月", chinese_month(f.birth_date)), 11),
            Row(_values("民　　族", f.ethnicity, "文化程度", f.education, "政治面貌", f.political_status), 11),
            Row(_values("身份证号", Cell(f.id_number, span=3), "联系电话", f.phone), 11),
            Row(_values("籍　　贯", f.native_place, "入会时间", chinese_date(f.joined_on) if f.joined_on else "",
                        "就业形态", f.employment_form), 11),
            Row(_values("工作单位", Cell(f.unit, span=5)), 11),
            Row(_values("转入工会", Cell(f.union, span=5)), 11),
        )),
        Grid((14, 54, 54, 26, 22), (
            Row((Cell("组织关系接转记录", span=5, label=True),), 10),
            Row(_values("序号", Cell("转出工会", label=True), Cell("转入工会", label=True), "接转日期",
                        Cell("备注", label=True)), 10),
            *moves,
        ), joined=True),
        Text("注：此卡随会员组织关系转接，由会员所在基层工会保管。", small=True),
        _footnote(f),
    )


BUILDERS = {"join_application": join_application, "registration": registration,
            "transfer_letter": transfer_letter, "management_card": management_card}


def application_sheet(session, application: Application, key: str, *, reader=None) -> Sheet:
    """The form ``key`` of ``application``. With a ``reader`` (one the caller allowed to see the full ID number)
    the registration form and the management card carry it, and the read is recorded; otherwise it is masked."""
    if key not in FOR_KIND[application.kind]:
        raise NotFound(f"application {application.id} is a {application.kind}: it has no {key}")
    full = reader is not None and key in FULL_ID_FORMS
    f = facts(session, application, full=full)
    if full:
        person = session.get(Person, application.person_id)
        audit.record_read(session, person, "id_number", reader)
        audit.record_read(session, person, "phone", reader)
    return Sheet(key=key, title=TITLES[key], blocks=BUILDERS[key](f), full_id_number=full,
                 filename=f"{TITLES[key]}-{f.name}-{application.id}")


def notice_sheet(session, tenant, drive: FormationDrive, *, on: dt.date | None = None) -> Sheet:
    """工会组建通知书, in the seed's words: to the unit, from the federation handling the drive, with the contact
    person and phone of the plugin settings (the federation's own when the settings leave them empty), dated the
    day it was served (today until then)."""
    unit = session.get(Unit, drive.unit_id)
    federation = session.get(Organization, drive.handler_id)
    rules = rules_of(session, tenant)
    contact = rules.contact_name or federation.contact_name
    phone = rules.contact_phone or federation.contact_phone or ""
    day = drive.notice_served_on or on or id_numbers.today()
    blocks = (
        Heading(NOTICE_TITLE),
        Text(f"{unit.name}："),
        Text("根据《中华人民共和国工会法》、《中国工会章程》的规定，中国境内所有企业、机关、事业单位都应依法组建"
             "工会组织。目前贵单位尚未建立工会组织，请接到通知后，予以重视，立即着手进行工会组建工作。", indent=True),
        Text(f"组建过程中如有问题，请与{federation.name}联系，我们将予以指导和帮助。上级工会派员帮助和指导建会工作时，"
             "烦请贵单位给予支持，并提供必要的条件。", indent=True),
        Text("特此通知。", indent=True),
        Text(f"联系人：{contact or BLANK}", indent=True),
        Text(f"联系电话：{phone or BLANK}", indent=True),
        Signature((f"{federation.name}（盖章）", seal_date(day))),
    )
    return Sheet(key="formation_notice", title=NOTICE_TITLE, blocks=blocks, body_pt=16,
                 filename=f"{NOTICE_TITLE}-{unit.name}")


# --- drawing a sheet: HTML -----------------------------------------------------------------------------------------

#: Outside a request (the hook's HTML) the sheet's template is read straight from the plugin's folder.
_templates = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                         autoescape=select_autoescape(default=True))


def html(sheet: Sheet) -> str:
    """The sheet as a print-ready HTML fragment, its styles included: what the ``printable_forms`` hook returns.
    The print pages include the same template inside the tenant's layout."""
    return _templates.get_template("yichang/forms/sheet.html").render(sheet=sheet)


# --- drawing a sheet: PDF ------------------------------------------------------------------------------------------

#: Adobe's Simplified Chinese CID font (宋体-like), which reportlab names without shipping a file: the PDF refers
#: to it and the viewer supplies the glyphs (Acrobat, Chrome, Edge, Firefox, Preview and poppler all do).
FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def pdf(sheet: Sheet) -> bytes:
    """The sheet as an A4 PDF with Chinese text: the same blocks as the HTML."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                                 bottomMargin=18 * mm, title=sheet.title, subject=sheet.title, author="",
                                 creator="gonghui yichang")
    styles = _styles(sheet.body_pt)
    document.build([flowable for block in sheet.blocks for flowable in _flowables(block, styles)])
    return buffer.getvalue()


def _styles(body_pt: float) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=body_pt, leading=body_pt * 1.6, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=base, fontSize=10.5, leading=15)

    def like(parent, name, **changes):
        return ParagraphStyle(name, parent=parent, **changes)

    return {
        "title": like(base, "title", fontSize=22, leading=30, alignment=TA_CENTER, spaceAfter=14),
        "small-heading": like(base, "small-heading", fontSize=16, leading=24, alignment=TA_CENTER, spaceAfter=4),
        "left": base,
        "right": like(base, "right", alignment=TA_RIGHT),
        "center": like(base, "center", alignment=TA_CENTER),
        "indent": like(base, "indent", firstLineIndent=body_pt * 2),
        "small": like(base, "small", fontSize=9, leading=14),
        "small-right": like(base, "small-right", fontSize=9, leading=14, alignment=TA_RIGHT),
        "signature": like(base, "signature", alignment=TA_RIGHT, rightIndent=body_pt * 2),
        "cell-left": cell,
        "cell-center": like(cell, "cell-center", alignment=TA_CENTER),
        "cell-right": like(cell, "cell-right", alignment=TA_RIGHT),
    }


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    markup = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")
    return Paragraph(_IDEOGRAPHIC_SPACES.sub(_kept_space, markup), style)


#: The blanks a hand fills in are ideographic spaces, which a reportlab paragraph collapses like any whitespace
#: and STSong-Light has no no-break space for: they are drawn as Helvetica no-break spaces, four to the em.
_IDEOGRAPHIC_SPACES = re.compile("\u3000+")


def _kept_space(match: re.Match) -> str:
    return '<font name="Helvetica">' + "\u00a0" * 4 * len(match.group()) + "</font>"


def _flowables(block, styles) -> list:
    if block.kind == "heading":
        return [_paragraph(block.text, styles["title" if block.size == "title" else "small-heading"])]
    if block.kind == "text":
        style = ("small-right" if block.align == "right" else "small") if block.small else (
            "indent" if block.indent else block.align)
        return [_paragraph(block.text, styles[style])]
    if block.kind == "signature":
        return [Spacer(1, 8 * mm)] + [_paragraph(line, styles["signature"]) for line in block.lines]
    if block.kind == "cut":
        return [CutLine(block.text)]
    if block.kind == "grid":
        return [_table(block, styles)] if block.joined else [Spacer(1, 4), _table(block, styles)]
    raise ValueError(f"no drawing for a {block.kind} block")


class CutLine(Flowable):
    """A dashed line across the page with a label in its middle."""

    def __init__(self, label: str):
        super().__init__()
        self.label = label

    def wrap(self, available_width, available_height):
        self.width = available_width
        return available_width, 12 * mm

    def draw(self):
        canvas = self.canv
        canvas.saveState()
        canvas.setDash(4, 3)
        canvas.setLineWidth(0.6)
        canvas.line(0, 6 * mm, self.width, 6 * mm)
        if self.label:
            label_width = canvas.stringWidth(self.label, FONT, 9)
            canvas.setFillColorRGB(1, 1, 1)
            canvas.rect((self.width - label_width) / 2 - 2 * mm, 4.5 * mm, label_width + 4 * mm, 3.5 * mm,
                        stroke=0, fill=1)
            canvas.setFillColorRGB(0, 0, 0)
            canvas.setFont(FONT, 9)
            canvas.drawCentredString(self.width / 2, 5.2 * mm, self.label)
        canvas.restoreState()


def _table(grid: Grid, styles) -> Table:
    """A bordered table, its spans placed as HTML places them (a cell covered by a span above is skipped)."""
    width = len(grid.widths)
    taken: set[tuple[int, int]] = set()
    data, commands, heights = [], [], []
    for r, row in enumerate(grid.rows):
        line, c = [""] * width, 0
        for cell in row.cells:
            while (r, c) in taken:
                c += 1
            line[c] = _cell_content(cell, row, styles)
            if cell.span > 1 or cell.rows > 1:
                commands.append(("SPAN", (c, r), (c + cell.span - 1, r + cell.rows - 1)))
            if cell.sign:
                commands.append(("VALIGN", (c, r), (c, r), "TOP"))
            taken.update((r + dr, c + dc) for dr in range(cell.rows) for dc in range(cell.span))
            c += cell.span
        data.append(line)
        # a row with a signature grows to its content, which the spacer makes as tall as the row asks
        heights.append(row.height * mm if row.height and not any(cell.sign for cell in row.cells) else None)
    table = Table(data, colWidths=[w * mm for w in grid.widths], rowHeights=heights)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.75, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        *commands,
    ]))
    return table


def _cell_content(cell: Cell, row: Row, styles) -> list:
    content = [_paragraph(cell.text, styles[f"cell-{cell.alignment}"])]
    if cell.sign:
        # the space between the text and the signature is where the hand writes
        lines = 1 + cell.text.count("\n") + len(cell.text) // 38 + len(cell.sign)
        content.append(Spacer(1, max(row.height * mm - lines * 15 - 8, 12)))
        content.extend(_paragraph(line, styles["cell-right"]) for line in cell.sign)
    return content


# --- the hook -------------------------------------------------------------------------------------------------------


def printable_forms(tenant) -> list[PrintableForm]:
    """The five forms for the print menu of an application or a drive. The hook has no reader, so its HTML always
    shows the masked ID number; the print pages (print_pages.py) give the full one to those allowed."""

    def for_application(key):
        def render(session, object_id) -> str:
            return html(application_sheet(session, by_id(session, Application, object_id), key))
        return render

    def notice(session, object_id) -> str:
        drive = session.get(FormationDrive, object_id)
        if drive is None:
            raise NotFound(f"no formation drive {object_id}")
        return html(notice_sheet(session, tenant, drive))

    return [PrintableForm(key=f"yichang.{key}", title=title, applies_to=Application.__tablename__,
                          render=for_application(key)) for key, title in TITLES.items()] + [
        PrintableForm(key="yichang.formation_notice", title=NOTICE_TITLE,
                      applies_to=FormationDrive.__tablename__, render=notice)]

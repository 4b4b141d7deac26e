"""The texts Yichang sends, and sending them: every SMS goes through the outbox in the caller's transaction.

The applicant's three outcome texts are the seed's own words (宜工办〔2016〕22号, 四(一)3), with the tenant's
federation, contact person and phone filled in; a city changes any of them in the plugin's settings
(``messages``) by key. The seed's parked text asks the member to apply for a transfer once their unit forms a
union; we transfer them ourselves within ``parked_transfer_days`` (issue 7), so that sentence says so instead.
"""
from __future__ import annotations

from cities.yichang.settings import rules
from core.toolkit import MessageTemplate, messages, outbox

SIGNATURE = "联系人：{contact_name}，联系电话：{contact_phone}"

TEMPLATES = [
    MessageTemplate("yichang.received",
                    "您好！您的{kind}申请已提交，我们将在{due_on}前办结。可在“申请状态”中随时查看进度。{federation}",
                    "申请人提交申请后"),
    MessageTemplate("yichang.refused",
                    "您好！很抱歉！您暂时不符合《中国工会章程》规定的入会条件（{reason}），不能为您办理入会相关手续，"
                    "感谢您对{federation}工作的关心和支持！" + SIGNATURE,
                    "申请未通过资格审查或审核未通过（方案原文第3条，附原因）"),
    MessageTemplate("yichang.resubmit",
                    "您好！您申请的单位不是您本人所在单位（{reason}），请核实所在单位后重新提交申请。" + SIGNATURE,
                    "申请人向非本人所在单位提交申请"),
    MessageTemplate("yichang.approved",
                    "您好！您的入会申请已经通过审核，已为您办理入会相关手续，您正式成为中华全国总工会会员，享有会员权利，"
                    "履行会员义务。{organization}竭诚为您提供热情周到的服务！" + SIGNATURE,
                    "已建会单位的入会申请通过（方案原文第2条）"),
    MessageTemplate("yichang.approved_parked",
                    "您好！您的入会申请已经通过审核，您已正式成为中华全国总工会会员，享有会员权利，履行会员义务。"
                    "由于您所在的单位尚未建立工会，会籍暂时保留在{organization}，待您单位成立工会后，"
                    "将为您办理会员组织关系转接手续。{federation}竭诚为您提供热情周到的服务！" + SIGNATURE,
                    "未建会单位的入会申请通过，会籍保留在蓄水池（方案原文第1条）"),
    MessageTemplate("yichang.transferred",
                    "您好！您的会籍转接申请已经通过审核，您的工会会员组织关系已由{from_organization}转入{organization}。"
                    "{organization}竭诚为您提供热情周到的服务！" + SIGNATURE,
                    "转会申请通过"),
    MessageTemplate("yichang.transferred_parked",
                    "您好！您的会籍转接申请已经通过审核。由于您所在的单位尚未建立工会，您的会员组织关系暂时保留在"
                    "{organization}，待您单位成立工会后，将为您办理转接手续。" + SIGNATURE,
                    "转会申请通过，新单位未建会，会籍保留在蓄水池"),
    MessageTemplate("yichang.moved_out",
                    "您好！您的工会会员组织关系已由{from_organization}迁出，暂由{organization}管理，"
                    "您在新单位提交转会申请后即可办理转接。" + SIGNATURE,
                    "工会主席迁出会员、会员调往市外"),
    MessageTemplate("yichang.parked_transferred",
                    "您好！您所在单位已成立工会，您的工会会员组织关系已由{from_organization}转入{organization}。" + SIGNATURE,
                    "单位建会后蓄水池会员批量转入"),
    MessageTemplate("yichang.task_dispatched",
                    "【任务提醒】{federation}分派给您一件{kind}申请（编号{number}，{unit}），请于{accept_due_on}前登录平台完成信息校核。",
                    "市总管理员分派申请后，提醒县（市、区）或产业工会管理员"),
    MessageTemplate("yichang.task_to_decide",
                    "【任务提醒】{organization}有一件{kind}申请待审批（编号{number}），请于{due_on}前登录职工服务网办结。",
                    "信息校核完成后，提醒基层工会主席"),
    MessageTemplate("yichang.overdue",
                    "【督办提醒】{kind}申请（编号{number}）已超过承诺时限{due_on}，请尽快办理。",
                    "超过受理或办结时限的申请，每个工作日提醒一次"),
    MessageTemplate("yichang.drive_opened",
                    "【督促建会】{unit}已有{count}名职工网上入会、会籍暂存蓄水池，请督促指导该单位建会，"
                    "并于{notice_due_on}前下发《工会组建通知书》。",
                    "同一未建会单位达到督促建会人数时，提醒县（市、区）组建工作责任人"),
    MessageTemplate("yichang.drive_submitted",
                    "【督促建会】{unit}的建会材料已上报，请登录平台审核。",
                    "建会材料上传齐全并上报后，提醒市总组建工作责任人"),
]


def chinese_date(day) -> str:
    """``2026年11月27日``: a date as the texts, pages and forms write it."""
    return f"{day.year}年{day.month}月{day.day}日"


def send(session, tenant, key: str, *, phone: str | None, dedupe_key: str, **params) -> bool:
    """Queue the text ``key`` to ``phone`` with ``params`` and the tenant's signature filled in.

    No phone, no message (a union with no contact phone): returns False so the caller can say so on the page.
    ``dedupe_key`` makes a retried step send nothing twice.
    """
    if not phone:
        return False
    settings = rules(session, tenant)
    branding = tenant.branding or {}  # the tenant's own contact, unless the plugin's settings name another
    params = {"federation": tenant.name,
              "contact_name": settings.contact_name or branding.get("contact_name") or "—",
              "contact_phone": settings.contact_phone or branding.get("contact_phone") or "—"} | params
    text = messages.compose(session, tenant, key, **params)
    outbox.send_sms(session, phone=phone, text=text, dedupe_key=f"yichang:{dedupe_key}", plugin="yichang",
                    template=key, params=params)
    return True

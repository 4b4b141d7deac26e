"""Core tables. Importing this package registers every core model on ``core.db.Base.metadata``."""
from core.models.tenant import Tenant, TenantDomain, TenantPlugin
from core.models.user import ApiToken, RoleGrant, User
from core.models.login import LoginCode, LoginThrottle
from core.models.audit import AuditChainHead, AuditRecord
from core.models.outbox import OutboxMessage
from core.models.calendar import CalendarOverride
from core.models.region import Region
from core.models.organization import Organization
from core.models.unit import Unit
from core.models.person import Person
from core.models.membership import Membership, MembershipEntry
from core.models.import_batch import ImportBatch

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditRecord",
    "CalendarOverride",
    "ImportBatch",
    "LoginCode",
    "LoginThrottle",
    "Membership",
    "MembershipEntry",
    "Organization",
    "OutboxMessage",
    "Person",
    "Region",
    "RoleGrant",
    "Tenant",
    "TenantDomain",
    "TenantPlugin",
    "Unit",
    "User",
]

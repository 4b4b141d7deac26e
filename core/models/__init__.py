"""Core tables. Importing this package registers every core model on ``core.db.Base.metadata``."""
from core.models.tenant import Tenant, TenantDomain, TenantPlugin
from core.models.user import ApiToken, RoleGrant, User
from core.models.audit import AuditChainHead, AuditRecord
from core.models.outbox import OutboxMessage
from core.models.calendar import CalendarOverride

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditRecord",
    "CalendarOverride",
    "OutboxMessage",
    "RoleGrant",
    "Tenant",
    "TenantDomain",
    "TenantPlugin",
    "User",
]

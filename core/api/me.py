"""Who am I: the caller, their tenant and the roles they hold where; and, for a worker whose account is linked to
their person in the registry (``User.person_id``), everything held about them (个人信息查阅复制, PIPL art. 45)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields

from core.api.base import ApiBlueprint
from core.api.people import SubjectAccessExportSchema
from core.app import db_session
from core.auth.permissions import has_permission, require_signed_in, table
from core.errors import Forbidden, NotFound
from core.masking import mask_phone
from core.models.organization import Organization
from core.models.person import Person
from core.registry import people

blp = ApiBlueprint("me", __name__, description="The caller: who they are, and the personal data held about them")


class MeTenantSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()


class MeRoleSchema(Schema):
    role = fields.String()
    organization_id = fields.Integer(allow_none=True, metadata={"description": "null: the whole tenant"})
    organization_name = fields.String(allow_none=True)
    organization_path = fields.String(allow_none=True, metadata={"description": "the role acts on this subtree"})
    active = fields.Boolean(metadata={"description": "false once the organization is dissolved or merged"})


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    platform_admin = fields.Boolean()
    person_id = fields.Integer(allow_none=True, metadata={"description": "your person in the registry, if linked"})
    tenant = fields.Nested(MeTenantSchema, allow_none=True, metadata={"description": "null on the platform host"})
    roles = fields.List(fields.Nested(MeRoleSchema))
    permissions = fields.List(fields.String(), metadata={"description": "what you may do here (a scoped token: "
                                                                        "only its scopes)"})


def _roles(user) -> list[dict]:
    ids = {grant.organization_id for grant in user.grants if grant.organization_id is not None}
    names = dict(db_session().execute(
        sa.select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    ).all()) if ids else {}
    return [
        {"role": grant.role, "organization_id": grant.organization_id,
         "organization_name": names.get(grant.organization_id), "organization_path": grant.organization_path,
         "active": grant.organization_id is None or grant.organization_status == "active"}
        for grant in sorted(user.grants, key=lambda grant: grant.id)
    ]


@blp.route("")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @require_signed_in
    def get(self):
        """Who you are: your account, your tenant, the roles you hold and where, and your permissions"""
        user, tenant = g.user, g.get("tenant")
        return {
            "id": user.id, "username": user.username, "display_name": user.display_name,
            "phone": mask_phone(user.phone) if user.phone else None, "platform_admin": user.is_platform_admin,
            "person_id": user.person_id,
            "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name} if tenant is not None else None,
            "roles": _roles(user),
            "permissions": sorted(p for p in table().roles_by_permission if has_permission(user, p)),
        }


@blp.route("/export")
class MyExport(MethodView):
    @blp.response(200, SubjectAccessExportSchema)
    @require_signed_in
    def get(self):
        """Everything held about you as a person in the registry: your record in full, your memberships and their
        ledger, and who read your full ID number (this export included). 404 when your account is not linked"""
        if g.get("token_scopes"):
            raise Forbidden("a token with scopes cannot export your personal data; sign in or use a token without")
        person = None
        if g.get("tenant") is not None and g.user.person_id is not None:
            person = db_session().scalar(sa.select(Person).where(Person.id == g.user.person_id))
        if person is None:
            raise NotFound("your account is not linked to a person in the registry; ask your union's operator "
                           "or a tenant admin to link it", code="no_linked_person")
        return people.subject_access_export(db_session(), person, actor=g.user)

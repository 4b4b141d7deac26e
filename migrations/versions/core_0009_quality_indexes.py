"""Indexes of the data-quality checks: people by birth date (ages out of range), by name, birth date and sex (one
person registered twice), and a partial index of the records lacking a registration form's field.

Revision ID: core_0009
Revises: core_0008
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0009"
down_revision = "core_0008"
branch_labels = None
depends_on = None

# As core/models/person.py's INCOMPLETE on this date.
INCOMPLETE = "ethnicity = '' OR education = '' OR household_type = '' OR employment_form = ''"


def upgrade() -> None:
    op.create_index("ix_person_tenant_id_birth_date", "person", ["tenant_id", "birth_date"])
    op.create_index("ix_person_tenant_id_name_birth_date_sex", "person", ["tenant_id", "name", "birth_date", "sex"])
    op.create_index("ix_person_incomplete", "person", ["tenant_id"],
                    postgresql_where=sa.text(INCOMPLETE), sqlite_where=sa.text(INCOMPLETE))


def downgrade() -> None:
    op.drop_index("ix_person_incomplete", table_name="person")
    op.drop_index("ix_person_tenant_id_name_birth_date_sex", table_name="person")
    op.drop_index("ix_person_tenant_id_birth_date", table_name="person")

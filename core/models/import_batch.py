"""Import batches: one per uploaded spreadsheet, from its check to its application (or rejection)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TenantOwned, Timestamped, Versioned
from core.models.region import PATH

#: uploaded -> checking -> checked -> applying -> applied; rejected when the file cannot be read or a row is wrong
#: at apply time; failed when something broke that is not the file's fault (the log names it).
STATUSES = ("uploaded", "checking", "checked", "applying", "applied", "rejected", "failed")


class ImportBatch(TenantOwned, Versioned, Timestamped, Base):
    """An uploaded file and what checking and applying it found. The file itself lives under the data directory
    (``stored_path``, relative to it), never in the database; ``errors`` keeps the first ``core.registry.imports
    .ERRORS_KEPT`` cell errors, ``error_count`` all of them."""

    __tablename__ = "import_batch"
    __table_args__ = (sa.Index("ix_import_batch_tenant_id_scope_path", "tenant_id", "scope_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``units``, ``organizations``, ``members``, or a plugin importer's key.
    kind: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    stored_path: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_by: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    #: The union-tree path the import acts in: the narrowest organization above every subtree its uploader could
    #: import into ("/" for the whole tenant). Who may see the batch is decided on it, as for an organization.
    scope_path: Mapped[str] = mapped_column(PATH, nullable=False, default="/")
    #: What the uploader (or whoever applies) may touch: ``{"roots": [...], "areas": [...]}``, so a job checks
    #: with the caller's scope without the caller.
    scope: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="uploaded")
    #: Rows read so far (progress) and in all, once known.
    processed_rows: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    total_rows: Mapped[int | None] = mapped_column(sa.Integer)
    created_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    updated_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    unchanged_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    error_rows: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    #: ``[{"row": 7, "column": "id_number", "header": "身份证号", "message": "..."}]``; row 0: the file as a whole.
    errors: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    #: Why the batch failed or was rejected as a whole, in a sentence.
    message: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    applied_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    applied_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)

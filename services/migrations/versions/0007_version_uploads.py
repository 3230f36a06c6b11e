"""version_uploads: raw HTML, PDF and DOCX uploads kept until their ingest job parses them; ingest_jobs.sent_at
and delivered_at: when a message for the job was last published and last received (the stranded-job sweep)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.core.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_uploads",
        sa.Column("version_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_version_uploads_version_id_document_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_uploads")),
    )
    op.add_column("ingest_jobs", sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("ingest_jobs", sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_jobs") as batch:
        batch.drop_column("delivered_at")
        batch.drop_column("sent_at")
    op.drop_table("version_uploads")

"""pitch tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:41:34.462304
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import services.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personas",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("persona_id", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personas")),
        sa.UniqueConstraint("org_id", "persona_id", name=op.f("uq_personas_org_id_persona_id")),
    )
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personas_org_id"), ["org_id"], unique=False)

    op.create_table(
        "talk_track_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("sub", sa.String(length=200), nullable=False),
        sa.Column("persona", sa.String(length=64), nullable=False),
        sa.Column("competitor", sa.String(length=120), nullable=True),
        sa.Column("segment", sa.String(length=32), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talk_track_requests")),
    )
    with op.batch_alter_table("talk_track_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_talk_track_requests_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_talk_track_requests_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("talk_track_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_talk_track_requests_org_id"))
        batch_op.drop_index(batch_op.f("ix_talk_track_requests_created_at"))

    op.drop_table("talk_track_requests")
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personas_org_id"))

    op.drop_table("personas")

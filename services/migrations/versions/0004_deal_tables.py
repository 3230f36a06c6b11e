"""deal tables

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:00:23.099439
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import services.core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("account_name", sa.String(length=200), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("stakeholders", sa.JSON(), nullable=False),
        sa.Column("competitors", sa.JSON(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2, asdecimal=False), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deals_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_owner"), ["owner"], unique=False)

    op.create_table(
        "sales_processes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_processes")),
        sa.UniqueConstraint("org_id", "segment", name=op.f("uq_sales_processes_org_id_segment")),
    )
    with op.batch_alter_table("sales_processes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_processes_org_id"), ["org_id"], unique=False)

    op.create_table(
        "deal_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("deal_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sentences", sa.JSON(), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.Column("next_step_missing", sa.Boolean(), nullable=False),
        sa.Column("next_step_date", sa.Date(), nullable=True),
        sa.Column("analyser_version", sa.Integer(), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_notes_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_notes")),
    )
    with op.batch_alter_table("deal_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_notes_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_notes_meeting_date"), ["meeting_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_notes_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deal_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_notes_org_id"))
        batch_op.drop_index(batch_op.f("ix_deal_notes_meeting_date"))
        batch_op.drop_index(batch_op.f("ix_deal_notes_deal_id"))

    op.drop_table("deal_notes")
    with op.batch_alter_table("sales_processes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_processes_org_id"))

    op.drop_table("sales_processes")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_owner"))
        batch_op.drop_index(batch_op.f("ix_deals_org_id"))

    op.drop_table("deals")

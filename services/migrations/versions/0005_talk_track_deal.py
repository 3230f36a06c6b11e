"""talk-track requests remember their deal

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("talk_track_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deal_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_talk_track_requests_deal_id"), ["deal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("talk_track_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_talk_track_requests_deal_id"))
        batch_op.drop_column("deal_id")

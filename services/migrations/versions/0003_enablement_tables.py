"""enablement tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:23:38.401971
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import services.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", services.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_org_id"), ["org_id"], unique=False)

    op.create_table(
        "quizzes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lineage_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("replaces_id", sa.String(length=36), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", services.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quizzes")),
        sa.UniqueConstraint("lineage_id", "version", name=op.f("uq_quizzes_lineage_id_version")),
    )
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quizzes_lineage_id"), ["lineage_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quizzes_org_id"), ["org_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("quiz_id", sa.String(length=36), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=False),
        sa.Column("assigned_by", sa.String(length=200), nullable=False),
        sa.Column("due_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pass_mark", sa.Float(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name=op.f("fk_assignments_quiz_id_quizzes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_assignee"), ["assignee"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_quiz_id"), ["quiz_id"], unique=False)

    op.create_table(
        "questions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("quiz_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("reference_answer", sa.Text(), nullable=True),
        sa.Column("key_points", sa.JSON(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("topic", sa.String(length=300), nullable=True),
        sa.Column("persona", sa.String(length=64), nullable=True),
        sa.Column("competitor", sa.String(length=120), nullable=True),
        sa.Column("source_reveals_key", sa.Boolean(), nullable=False),
        sa.Column("recipe", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["quiz_id"], ["quizzes.id"], name=op.f("fk_questions_quiz_id_quizzes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questions_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_questions_quiz_id"), ["quiz_id"], unique=False)

    op.create_table(
        "attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("option_orders", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", services.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name=op.f("fk_attempts_assignment_id_assignments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint("assignment_id", "number", name=op.f("uq_attempts_assignment_id_number")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempts_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempts_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempts_user"), ["user"], unique=False)

    op.create_table(
        "certifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("quiz_id", sa.String(length=36), nullable=False),
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("attempt_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("certified_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("needs_renewal", sa.Boolean(), nullable=False),
        sa.Column("renewal_reason", sa.Text(), nullable=True),
        sa.Column("flagged_at", services.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name=op.f("fk_certifications_assignment_id_assignments")
        ),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.id"], name=op.f("fk_certifications_quiz_id_quizzes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifications")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_certifications_assignment_id")),
    )
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certifications_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certifications_quiz_id"), ["quiz_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certifications_user"), ["user"], unique=False)

    op.create_table(
        "question_sources",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("question_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.String(length=36), nullable=False),
        sa.Column("as_of", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_sources_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_sources")),
    )
    with op.batch_alter_table("question_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_sources_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_sources_question_id"), ["question_id"], unique=False)

    op.create_table(
        "review_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("question_id", sa.String(length=36), nullable=False),
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("due_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("misses", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name=op.f("fk_review_items_question_id_questions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("org_id", "user", "question_id", name=op.f("uq_review_items_org_id_user_question_id")),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_items_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_question_id"), ["question_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_user"), ["user"], unique=False)

    op.create_table(
        "answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("attempt_id", sa.String(length=36), nullable=False),
        sa.Column("question_id", sa.String(length=36), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("credit", sa.Float(), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("graded_credit", sa.Float(), nullable=False),
        sa.Column("override_by", sa.String(length=200), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("overridden_at", services.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_answers_attempt_id_attempts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name=op.f("fk_answers_question_id_questions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("attempt_id", "question_id", name=op.f("uq_answers_attempt_id_question_id")),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answers_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_answers_question_id"), ["question_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answers_question_id"))
        batch_op.drop_index(batch_op.f("ix_answers_attempt_id"))

    op.drop_table("answers")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_items_user"))
        batch_op.drop_index(batch_op.f("ix_review_items_question_id"))
        batch_op.drop_index(batch_op.f("ix_review_items_org_id"))
        batch_op.drop_index(batch_op.f("ix_review_items_due_at"))

    op.drop_table("review_items")
    with op.batch_alter_table("question_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_sources_question_id"))
        batch_op.drop_index(batch_op.f("ix_question_sources_document_id"))

    op.drop_table("question_sources")
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certifications_user"))
        batch_op.drop_index(batch_op.f("ix_certifications_quiz_id"))
        batch_op.drop_index(batch_op.f("ix_certifications_org_id"))

    op.drop_table("certifications")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempts_user"))
        batch_op.drop_index(batch_op.f("ix_attempts_org_id"))
        batch_op.drop_index(batch_op.f("ix_attempts_assignment_id"))

    op.drop_table("attempts")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questions_quiz_id"))
        batch_op.drop_index(batch_op.f("ix_questions_org_id"))

    op.drop_table("questions")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_quiz_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_org_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_due_at"))
        batch_op.drop_index(batch_op.f("ix_assignments_assignee"))

    op.drop_table("assignments")
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quizzes_org_id"))
        batch_op.drop_index(batch_op.f("ix_quizzes_lineage_id"))

    op.drop_table("quizzes")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_org_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_created_at"))

    op.drop_table("outbox")

"""decision log and reviews

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("categories", sa.String(length=500), nullable=False),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column("generation_id", sa.String(length=36), nullable=True),
        sa.Column("policy_version", sa.String(length=80), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index("ix_decisions_created", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_generation_id"), ["generation_id"], unique=False)
        batch_op.create_index("ix_decisions_kind_decision", ["kind", "decision"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_policy_version"), ["policy_version"], unique=False)

    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by_decision_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_column("review_reason")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("held_by_decision_id")

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_policy_version"))
        batch_op.drop_index("ix_decisions_kind_decision")
        batch_op.drop_index(batch_op.f("ix_decisions_generation_id"))
        batch_op.drop_index("ix_decisions_created")
        batch_op.drop_index(batch_op.f("ix_decisions_api_key_id"))

    op.drop_table("decisions")

"""fingerprint registry and verification log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fingerprints",
        sa.Column("sequence", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("generation_id", sa.String(length=36), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
        sa.UniqueConstraint("generation_id"),
    )
    op.create_table(
        "verifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("media_bytes", sa.BigInteger(), nullable=False),
        sa.Column("media_kind", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("strongest_evidence", sa.String(length=32), nullable=True),
        sa.Column("generation_id", sa.String(length=36), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verifications_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_verifications_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_verifications_generation_id"), ["generation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_verifications_verdict"), ["verdict"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verifications_verdict"))
        batch_op.drop_index(batch_op.f("ix_verifications_generation_id"))
        batch_op.drop_index(batch_op.f("ix_verifications_created_at"))
        batch_op.drop_index(batch_op.f("ix_verifications_api_key_id"))

    op.drop_table("verifications")
    op.drop_table("fingerprints")

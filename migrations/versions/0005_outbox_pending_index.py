"""An index of the pending outbox rows, for the claim.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # The claim orders pending rows by id: with millions of sent rows kept, PostgreSQL would
    # otherwise walk the primary key through all of them (0.5 s a claim at 1,000,000 rows).
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outbox_emails_pending',
            ['id'],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )


def downgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_emails_pending')

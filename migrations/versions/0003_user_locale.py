"""The language of each account.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _default_locale() -> str:
    # Existing accounts get the configured default (the app context is Flask-Migrate's).
    try:
        return current_app.config["DEFAULT_LOCALE"]
    except RuntimeError:  # alembic run without the app
        return "en"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=35), nullable=True))
    users = sa.table('users', sa.column('locale', sa.String(length=35)))
    op.execute(users.update().values(locale=_default_locale()))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('locale', existing_type=sa.String(length=35), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')

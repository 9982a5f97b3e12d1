"""Verification codes (stored as keyed hashes) and wrong-guess counts per address.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('verification_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('binding', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_verification_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_codes'))
    )
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.create_index('ix_verification_codes_address', ['address_hash', 'purpose'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_codes_user_id'), ['user_id'], unique=False)

    op.create_table('verification_guesses',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_guesses', sa.Integer(), nullable=False),
    sa.Column('day_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day_guesses', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('address_hash', name=op.f('pk_verification_guesses'))
    )


def downgrade():
    op.drop_table('verification_guesses')
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_codes_user_id'))
        batch_op.drop_index('ix_verification_codes_address')

    op.drop_table('verification_codes')

"""users of the support desk, forget requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:00:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_created_at', sa.DateTime(), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash'),
    sa.UniqueConstraint('username')
    )
    op.create_table('forget_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=160), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forget_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forget_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_forget_requests_status_at', ['status', 'requested_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('forget_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_forget_requests_status_at')
        batch_op.drop_index(batch_op.f('ix_forget_requests_customer_id'))
    op.drop_table('forget_requests')
    op.drop_table('users')

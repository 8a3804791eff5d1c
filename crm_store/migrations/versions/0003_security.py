"""security: verification attempts per order/customer/client, outbox, pending changes, one refund per order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('client', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('refused_by', sa.String(length=20), nullable=True))
    op.execute("UPDATE verification_attempts SET outcome = CASE WHEN succeeded THEN 'ok' ELSE 'failed' END")
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=10), nullable=False)
        batch_op.drop_column('succeeded')
        batch_op.create_index('ix_verification_reference_at', ['reference', 'at'], unique=False)
        batch_op.create_index('ix_verification_customer_at', ['customer_id', 'at'], unique=False)
        batch_op.create_index('ix_verification_client_at', ['client', 'at'], unique=False)
        batch_op.create_index('ix_verification_outcome_at', ['outcome', 'at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_sent_at'), ['sent_at'], unique=False)

    op.create_table('pending_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('conversation', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id', 'conversation', 'kind', name='uq_pending_changes_owner')
    )
    with op.batch_alter_table('pending_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_changes_expires_at'), ['expires_at'], unique=False)

    # An order has at most one refund (cancelled or returned, never both). Seeded and live data
    # already satisfy it; a database that does not stops here rather than dropping money rows.
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_refunds_order_id', ['order_id'])


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint('uq_refunds_order_id', type_='unique')

    with op.batch_alter_table('pending_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_changes_expires_at'))
    op.drop_table('pending_changes')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_sent_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_customer_id'))
    op.drop_table('outbox')

    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('succeeded', sa.Boolean(), nullable=True))
    op.execute("UPDATE verification_attempts SET succeeded = (outcome = 'ok')")
    op.execute("DELETE FROM verification_attempts WHERE succeeded IS NULL")
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.alter_column('succeeded', existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_index('ix_verification_outcome_at')
        batch_op.drop_index('ix_verification_client_at')
        batch_op.drop_index('ix_verification_customer_at')
        batch_op.drop_index('ix_verification_reference_at')
        batch_op.drop_column('refused_by')
        batch_op.drop_column('client')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('reference')
        batch_op.drop_column('outcome')

"""suggestions shown in chat (and whether they were followed); feedback's context

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:45:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('product_sku', sa.String(length=40), nullable=False),
    sa.Column('reason_kind', sa.String(length=20), nullable=False),
    sa.Column('shown_at', sa.DateTime(), nullable=False),
    sa.Column('followed_at', sa.DateTime(), nullable=True),
    sa.Column('followed_by', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestions_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suggestions_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suggestions_shown_at'), ['shown_at'], unique=False)
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intent', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('sentiment', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_column('ticket_id')
        batch_op.drop_column('sentiment')
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('intent')
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestions_shown_at'))
        batch_op.drop_index(batch_op.f('ix_suggestions_customer_id'))
        batch_op.drop_index(batch_op.f('ix_suggestions_conversation_id'))
    op.drop_table('suggestions')

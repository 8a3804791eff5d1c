"""admins' reports: conversation episodes, negative messages and the last rebuild

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:30:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_episodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('user_messages', sa.Integer(), nullable=False),
    sa.Column('intents', sa.JSON(), nullable=False),
    sa.Column('topic_intent', sa.String(length=80), nullable=True),
    sa.Column('sentiment_start', sa.Float(), nullable=True),
    sa.Column('sentiment_end', sa.Float(), nullable=True),
    sa.Column('sentiment_min', sa.Float(), nullable=True),
    sa.Column('negative_messages', sa.Integer(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('live_handover', sa.Boolean(), nullable=False),
    sa.Column('escalation_reason', sa.String(length=60), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('agent', sa.String(length=120), nullable=True),
    sa.Column('first_response_seconds', sa.Float(), nullable=True),
    sa.Column('resolution_seconds', sa.Float(), nullable=True),
    sa.Column('resolved_by', sa.String(length=10), nullable=False),
    sa.Column('csat', sa.Integer(), nullable=True),
    sa.Column('csat_asked', sa.Boolean(), nullable=False),
    sa.Column('recontact_24h', sa.Boolean(), nullable=False),
    sa.Column('contained', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'number', name='uq_report_episodes_session')
    )
    with op.batch_alter_table('report_episodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_episodes_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_episodes_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_episodes_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_episodes_topic_intent'), ['topic_intent'], unique=False)
    op.create_table('report_negative_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=80), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('topic_intent', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_negative_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_negative_messages_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_negative_messages_conversation_id'), ['conversation_id'],
                              unique=False)
    op.create_table('report_builds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.Column('events_read', sa.Integer(), nullable=False),
    sa.Column('episodes', sa.Integer(), nullable=False),
    sa.Column('negative_messages', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('report_builds')
    with op.batch_alter_table('report_negative_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_negative_messages_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_report_negative_messages_at'))
    op.drop_table('report_negative_messages')
    with op.batch_alter_table('report_episodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_episodes_topic_intent'))
        batch_op.drop_index(batch_op.f('ix_report_episodes_started_at'))
        batch_op.drop_index(batch_op.f('ix_report_episodes_customer_id'))
        batch_op.drop_index(batch_op.f('ix_report_episodes_channel'))
    op.drop_table('report_episodes')

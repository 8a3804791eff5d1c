"""The shop's CRM: customers, orders, shipments, returns, tickets and feedback.

Knows nothing of Rasa. Callers use :mod:`crm_store.services` with a unit of work.
"""

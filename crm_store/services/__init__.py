"""Use cases of the shop, called like a library: plain values in, frozen dataclasses out.

Every function takes a :class:`crm_store.unit_of_work.UnitOfWork`, opens it, checks the
shop's rules, commits explicitly when it changes something, and raises
:mod:`crm_store.errors` when a rule says no.
"""

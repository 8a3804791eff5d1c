"""Pure scoring over plain data: sentiment trend, escalation rules, churn features.

Imports nothing from the database layer or from Rasa, so every function is tested on plain values.
"""

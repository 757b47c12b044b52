"""Escalation: the ladder and recipients configuration, notice derivation and the outbox."""

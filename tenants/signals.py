"""Signals other apps listen to, so tenants/ need not know their storage."""

from django.dispatch import Signal

# Sent after a municipality's contract is terminated and its data key destroyed; kwargs: municipality.
municipality_terminated = Signal()

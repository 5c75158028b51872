"""Signals other apps listen to, so tenants/ need not know their storage."""

from django.dispatch import Signal

# Sent while a new municipality is provisioned, inside its schema and the provisioning transaction, after its
# first admin exists: apps install what every municipality starts with. kwargs: municipality.
# A receiver that raises makes the provisioning fail (nothing remains).
municipality_provisioned = Signal()

# Sent after a municipality's contract is terminated and its data key destroyed; kwargs: municipality.
municipality_terminated = Signal()

# Sent after the transaction that renamed a municipality has committed; kwargs: municipality, old_name.
municipality_renamed = Signal()

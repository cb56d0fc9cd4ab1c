"""One file per migration of the feedback store, applied in `down_revision` order."""

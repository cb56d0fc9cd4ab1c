"""Quality: contracts (pandera), expectations (GX), gates and their reports, waivers, splits and row reconciliation."""

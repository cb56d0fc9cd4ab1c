"""Quality: pandera contracts, GX expectations, gates, reports, waivers, splits, reconciliation; training_set step."""

"""Demo data generators and evaluation sets, not product logic."""

"""Running trainset past one process: the local deployment and backfills through it."""

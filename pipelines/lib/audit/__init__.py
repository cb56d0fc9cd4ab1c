"""The workspace's audit log (`audit/log.jsonl`): who did what to which dataset, when and why;
each entry chained to the one before it by sha256, so an edited or removed entry is found."""

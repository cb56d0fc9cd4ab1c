"""Labeling: plans and budgets from coverage gaps, Label Studio and CSV out and in, agreement and
gold checks per batch, adjudication, weak labels for a cold start, the guideline."""

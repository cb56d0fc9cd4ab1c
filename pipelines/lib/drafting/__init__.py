"""Drafting a first dataset spec, its GX suite and its data brief from a profiled export (`trainset init`)."""

"""Release: immutable versions on DVC and git, manifest and card, consumption, withdrawal; the release step."""

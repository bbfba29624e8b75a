"""Local stand-ins for national services that are unreachable here; development and tests only."""

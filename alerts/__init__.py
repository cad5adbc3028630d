"""The alerting stage: routes alerts to people through apprise (its own process)."""

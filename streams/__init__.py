"""Stream processing: the faust app, its agents, and the pure rule engine (``streams.rules``)."""

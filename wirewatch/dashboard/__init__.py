"""``wirewatch dashboard``: a live web page over the monitor's topics.

Data flows one way, as in the pipeline::

    topics -> follow (follow.py) -> view model (state.py over feed.py, health.py,
    series.py) -> server-sent events and JSON (hub.py, web.py) -> the page (static/)

Actions go back only through Kafka: a silence created on the page is written
to the silences topic, which the notifier and this process both follow. The
rule playground (playground.py) evaluates with the rule set the workers use.
Everything kept in memory is bounded.
"""

"""The notifier: routes, groups, throttles and delivers alerts through apprise.

It imports ``schemas`` only. The pure parts (routing, grouping, throttling,
silences, templates) are plain functions and small state objects over plain
data; :mod:`alerts.notifier` ties them to Kafka and apprise.
"""

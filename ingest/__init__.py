"""The ingest stage: reading files and streams, validating articles, producing them to Kafka.

The first stage of the pipeline (ingest -> streams -> alerts). It imports
only :mod:`schemas`; the ``wirewatch`` command line drives it.
"""

"""The detection engine: turns an ``Article`` into ``Detection``s.

Pure Python: importing this package must not import faust or aiokafka.
"""

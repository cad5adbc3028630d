"""The ``wirewatch`` command: the layer above the pipeline's packages.

It imports ``streams``, ``alerts`` and ``schemas``; nothing imports it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wirewatch")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

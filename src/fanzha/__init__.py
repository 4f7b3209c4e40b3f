"""fanzha (反诈): an open platform for the multi-party governance of telecom and online fraud."""

__version__ = "0.1.0"

"""dreamcli: run Claude agents locally and make them better over time without retraining."""

__version__ = "0.1.0"

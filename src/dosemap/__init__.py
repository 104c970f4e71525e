"""dosemap: plan, chart and follow up micro-dose neuromodulator treatments."""

__version__ = "0.1.0"

"""oncall-sync: one-way sync of on-call configuration from OpsGenie into an on-call store."""

__version__ = "0.1.0"

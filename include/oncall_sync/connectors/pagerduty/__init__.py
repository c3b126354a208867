"""The PagerDuty connector. For now its payload models (payloads.py); the client, extract and
mapping come with the connector platform (issue 10)."""

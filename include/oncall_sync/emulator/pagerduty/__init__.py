"""The PagerDuty REST API emulator (docs/emulator-pagerduty.md): app.py serves generator.py's
accounts, render.py is its own rendering of layer schedules and `/oncalls`."""

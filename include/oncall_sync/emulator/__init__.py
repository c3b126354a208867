"""An OpsGenie API emulator for the demo, the tests and the benchmark."""

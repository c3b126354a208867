"""The benchmark (`make bench`, `python -m bench`): every sync stage measured against its
physical bound, at growing account sizes. See docs/benchmark.md."""

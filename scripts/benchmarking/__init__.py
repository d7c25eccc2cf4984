"""Sub-commands of ``scripts/benchmark.py`` that live in their own modules (imported from ``scripts/``)."""

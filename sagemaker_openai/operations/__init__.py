"""Operator tools behind the CLI: weight staging, the leftover check, control-plane waits and the benchmark.

Each subcommand imports only its own module, so importing this package loads nothing.
"""

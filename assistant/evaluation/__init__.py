"""Evaluation suites: golden data, metrics and the runner behind `reconnect eval run`."""

"""Putting a course model in front of users (chapter 8): latency budgets, request batching behind a small
HTTP server, and guardrails on what goes in and what comes out."""

"""Local stand-ins for tests and benchmarks: a fake OpenAI-compatible model and a service process.

Both run on 127.0.0.1 and need no network; they are also handy for trying a deployment's
settings without a real model.
"""

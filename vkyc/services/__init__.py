"""Use cases: each service takes its adapters (notifier, timers, clock) in its constructor, so tests
pass in-memory fakes and the Chalice apps pass the real ones."""

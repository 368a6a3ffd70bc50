"""Monitoring: watched sources polled for new articles, events merged across sources, watchlists and alerts.

`Monitor` runs inside `extractor serve` (and `extractor watch run`): it polls feeds and index
pages, queues new articles on the service's job queue, merges every new extraction's actions
into events, and raises alerts for watched names, programmes, authorities and countries.
"""

from .events import ActionFacts, EventIndex
from .fetch import Limits
from .runner import Monitor, MonitorConfig, TickReport

__all__ = ["ActionFacts", "EventIndex", "Limits", "Monitor", "MonitorConfig", "TickReport"]

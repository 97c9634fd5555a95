"""Storage of the change feed, the audit trail and the events for webhooks."""

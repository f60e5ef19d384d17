"""Webhooks: a company's HTTPS endpoints, told of its events as the Standard Webhooks
specification says, from an outbox written in the event's transaction."""

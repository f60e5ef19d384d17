"""The company event log: what each company may see, in commit order (the change feed, and the
events the webhooks deliver)."""

"""Long-term memory stores: PostgreSQL, and the queued (write-behind) store."""

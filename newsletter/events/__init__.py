"""After the send: what providers say happened to each recipient's copy (SendGrid's
Event Webhook, SMTP delivery status notifications), recorded in the ledger, and the
report of an issue built from it."""

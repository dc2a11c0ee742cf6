"""The web archive of sent issues: a static site and its feed, from what the ledger froze."""

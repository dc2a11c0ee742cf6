"""Who an issue goes to: subscriber lists (CSV) and, later, suppressions."""

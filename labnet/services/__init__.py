"""Services own the rules; they flush, callers commit."""

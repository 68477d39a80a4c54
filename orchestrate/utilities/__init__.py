"""Small helpers with Prefect's module paths (`prefect.utilities.*`)."""

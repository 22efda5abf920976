"""The volume scheduler (filters and weighers over the backends' reported pools) and the worker
the managers report to; both run beside the API, with the database."""

"""Background work: the Huey queue, its tasks and the record of their runs."""

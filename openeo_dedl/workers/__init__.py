"""Worker processes: the work queue in the database, supervisors and the processes they run."""

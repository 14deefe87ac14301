"""The tests' shared fixture layer: users and logins, servers and worker processes, waiting,
and the process graphs many tests build. Test packages import from here; their conftests only
add what is particular to them."""

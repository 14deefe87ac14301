"""Running plans: process registry, site clusters, partitions, result writers."""

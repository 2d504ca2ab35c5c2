"""chatmem's processes: the arq worker, the command line, the demo and the load test."""

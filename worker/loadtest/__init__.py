"""`chatmem loadtest`: simulated chat sessions drive the real producer path, workers persist.

runner.py is the composition root; the other modules each do one part:
the workload (workload.py), its pacing (schedule.py), the producers
(producer.py, child.py), the lag sampler (sampler.py), the worker processes
(workers.py, queue_worker.py), the loss check (check.py) and the output
(report.py, live.py, chart.py).
"""

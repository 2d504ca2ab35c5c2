"""chatmem's infrastructure: settings, logging, clients, servers, savers and stores."""

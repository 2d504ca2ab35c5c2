"""chatmem's domain: models, errors and repository ports; no infrastructure here."""

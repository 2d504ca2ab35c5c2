"""Repository ports (checkpointers, stores, chatbots) and their in-memory adapters."""

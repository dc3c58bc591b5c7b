"""digitserve: handwritten-digit inference service."""

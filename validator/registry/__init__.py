"""The registry: the registration gate, the tags it writes, and signature compatibility."""

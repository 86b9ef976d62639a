"""dancu: national population registry and e-identity platform."""

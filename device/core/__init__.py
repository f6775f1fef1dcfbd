"""The gate's pure core: decisions and state transitions. Imports only protocol and stdlib."""

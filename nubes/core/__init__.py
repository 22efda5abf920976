"""What every service needs: config, database, bus, auth, policy, errors, the ASGI app factory."""

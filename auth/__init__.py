"""Who is calling: citizen access tokens, signing keys, principals and permissions."""

"""Identity adapters: bearer-token verifiers behind the TokenVerifier port."""

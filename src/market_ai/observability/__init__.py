"""Operations: Prometheus metrics and Sentry, imported only by processes configured for them."""

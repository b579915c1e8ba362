"""The HTTP shell: a Litestar app assembled from controllers around the container."""

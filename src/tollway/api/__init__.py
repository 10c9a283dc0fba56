"""The i'mport V1 REST surface: routes at the root, V1's envelope, V1's auth."""

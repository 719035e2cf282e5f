"""JAX runs in float64 everywhere in infereco; set once, here, at package import."""

import jax

jax.config.update("jax_enable_x64", True)

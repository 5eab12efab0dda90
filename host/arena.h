/* arena.h - per-request memory for the SDK helpers: a chain of blocks from
 * which pieces are taken and never given back one by one; the whole chain
 * goes at once. Costs nothing until the first allocation. */
#ifndef MCHOST_ARENA_H
#define MCHOST_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
  struct arena_block *head; /* the block being filled; older ones follow */
};

/* `n` bytes aligned for any type, or NULL when malloc fails or n is absurd.
 * Valid until arena_reset() or arena_free(). */
void *arena_alloc(struct arena *a, size_t n);

/* A NUL-terminated copy of `len` bytes of s, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

/* Forgets every piece. Keeps the first block if it is small, so that a
 * connection whose requests all use the helpers allocates once. */
void arena_reset(struct arena *a);

/* Frees every block. */
void arena_free(struct arena *a);

#endif

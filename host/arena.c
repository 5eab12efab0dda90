/* arena.c - per-request memory for the SDK helpers (arena.h). */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first block of a request; later ones double, or fit one large piece. */
#define ARENA_FIRST 4096
/* A first block kept across requests by arena_reset(). */
#define ARENA_KEEP 16384
#define ARENA_ALIGN 16

struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  _Alignas(ARENA_ALIGN) char data[];
};

void *arena_alloc(struct arena *a, size_t n) {
  struct arena_block *b = a->head;
  size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

  if (need < n || need > SIZE_MAX / 4)
    return NULL;
  if (b == NULL || b->cap - b->used < need) {
    size_t cap = b == NULL ? ARENA_FIRST : 2 * b->cap;
    if (cap < need)
      cap = need;
    if ((b = malloc(sizeof *b + cap)) == NULL)
      return NULL;
    b->next = a->head;
    b->used = 0;
    b->cap = cap;
    a->head = b;
  }
  b->used += need;
  return b->data + b->used - need;
}

char *arena_strndup(struct arena *a, const char *s, size_t len) {
  char *p = arena_alloc(a, len + 1);
  if (p != NULL) {
    memcpy(p, s, len);
    p[len] = '\0';
  }
  return p;
}

void arena_reset(struct arena *a) {
  struct arena_block *b = a->head;
  if (b == NULL)
    return;
  while (b->next != NULL) {
    struct arena_block *next = b->next;
    free(b);
    b = next;
  }
  if (b->cap > ARENA_KEEP) {
    free(b);
    b = NULL;
  } else {
    b->used = 0;
  }
  a->head = b;
}

void arena_free(struct arena *a) {
  while (a->head != NULL) {
    struct arena_block *next = a->head->next;
    free(a->head);
    a->head = next;
  }
}
